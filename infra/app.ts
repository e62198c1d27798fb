/**
 * CDK app entry (`cdk.json`: `npx tsx infra/app.ts`). Parameters come from `-c key=value` or ORDERFLOW_* variables;
 * see infra/parameters.ts and the README's deploy section.
 */
import { App } from 'aws-cdk-lib';
import { buildOrderflow } from './build.js';

buildOrderflow(new App());
