/** Test helpers for the infra tests: parameters, and a synthesized orderflow app. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildOrderflow, cdkJsonContext } from './build.js';
import type { OrderflowStack } from './orderflow-stack.js';

/**
 * A complete, valid parameter set (as CDK context), in Confluent mode with a registry secret: the mode with the
 * most parts. `GLUE_MODE` turns it into the default deploy.
 */
export const TEST_PARAMETERS = {
  senderEmail: 'Orderflow <orders@example.com>',
  schemaRegistryUrl: 'https://registry.example.com',
  schemaRegistrySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orderflow-registry-AbCdEf',
  pollerMode: 'provisioned',
  alarmEmail: 'ops@example.com',
  webhookUrl: 'https://hooks.example.com/orderflow',
} as const;

/** Context that turns `TEST_PARAMETERS` into the default deploy: Glue mode, no registry url or secret. */
export const GLUE_MODE = { schemaRegistryUrl: undefined, schemaRegistrySecretArn: undefined } as const;

/** A synthesized app. */
export interface Synthesized {
  readonly app: App;
  readonly stack: OrderflowStack;
  readonly template: Template;
  /** Cloud assembly directory. */
  readonly outdir: string;
}

/**
 * Synthesizes the orderflow app without the nag plugin (tests run the pack themselves to list findings).
 * `bundle: false` skips esbuild for tests that only need the template.
 */
export function synthOrderflow(options: {
  context?: Record<string, unknown>;
  bundle: boolean;
  outdir?: string;
}): Synthesized {
  const context: Record<string, unknown> = {
    ...cdkJsonContext(),
    // The CLI sets this by default; `sam local invoke` finds the bundles through it.
    'aws:cdk:enable-asset-metadata': true,
    ...TEST_PARAMETERS,
    ...options.context,
  };
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context, outdir: options.outdir });
  // Parameters come from context only: a developer's ORDERFLOW_* variables must not leak into the tests.
  const { stack } = buildOrderflow(app, { nag: false, env: {} });
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir: app.outdir };
}

/**
 * The templates every template scanner (cfn-lint, sam validate, checkov) checks, by a readable name: both poller
 * modes and both registry modes, one with every optional part (webhook, Confluent registry and its secret) and one
 * without (the default deploy: Glue). Unbundled: only the template matters to them.
 */
export const SCANNED_VARIANTS = {
  'provisioned pollers with webhook and confluent registry secret': {},
  'on-demand pollers without webhook, glue registry': {
    pollerMode: 'on-demand',
    webhookUrl: undefined,
    ...GLUE_MODE,
  },
} as const satisfies Record<string, Record<string, unknown>>;

/** Name of a scanned template variant. */
export type ScannedVariant = keyof typeof SCANNED_VARIANTS;

/** Each scanned variant's template as CloudFormation JSON. */
export function scannedTemplates(): Record<ScannedVariant, object> {
  return Object.fromEntries(
    Object.entries(SCANNED_VARIANTS).map(([variant, context]) => [
      variant,
      synthOrderflow({ bundle: false, context }).template.toJSON(),
    ]),
  ) as Record<ScannedVariant, object>;
}
