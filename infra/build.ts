/**
 * Builds the orderflow CDK app: parameters from context or environment, the stack, and cdk-nag's AwsSolutions
 * checks. `infra/app.ts` (the `cdk.json` app) and the tests share it, so what is tested is what `cdk synth` runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { FunctionName } from '../shared/topology.js';
import { REPO_ROOT } from './constructs/orderflow-function.js';
import { applyNagSuppressions } from './nag-suppressions.js';
import { OrderflowStack } from './orderflow-stack.js';
import { loadParameters } from './parameters.js';

/** Name of the stack, and of its template `cdk.out/Orderflow.template.json`. */
export const STACK_NAME = 'Orderflow';

/** Options of `buildOrderflow`. */
export interface BuildOptions {
  /**
   * Environment the parameters fall back to.
   *
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Handler entries to use instead of `functions/<name>/handler.ts`.
   *
   * @default - the real handlers
   */
  readonly entries?: Partial<Record<FunctionName, string>>;
  /**
   * Register cdk-nag's AwsSolutions pack as a validation plugin, so any unacknowledged finding fails synthesis.
   * Tests turn it off and call `validateScope` to list the findings instead.
   *
   * @default true
   */
  readonly nag?: boolean;
}

/** The `context` block of `cdk.json`: feature flags the CLI passes, which tests must pass too. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * Adds the orderflow stack and the cdk-nag checks to `app`.
 *
 * @example
 * const { stack } = buildOrderflow(new App());
 */
export function buildOrderflow(app: App, options: BuildOptions = {}): { app: App; stack: OrderflowStack } {
  const parameters = loadParameters((key) => app.node.tryGetContext(key), options.env ?? process.env);
  const stack = new OrderflowStack(app, STACK_NAME, {
    parameters,
    entries: options.entries,
    description: 'orderflow: event-driven order processing on MSK Serverless, Lambda, EventBridge and SES',
  });
  applyNagSuppressions(stack);
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
