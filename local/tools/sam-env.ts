/**
 * `local/sam-env.json`: the variables `sam local invoke --env-vars` gives each function (by logical id), derived
 * from the synthesized template so they cannot drift from what the stack sets. Deploy-time values (brokers, table
 * names, the bus) become their local-stack equivalents. Regenerate with `npm run sam-env`. Dev tooling: it lives in `local/`, so `infra/` imports nothing from `local/`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildOrderflow, cdkJsonContext } from '../../infra/build.js';
import { REPO_ROOT } from '../../infra/constructs/orderflow-function.js';
import { functionLogicalId } from '../../infra/orderflow-stack.js';
import { DEFAULT_SENDER_EMAIL } from '../../shared/email-templates.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { EVENT_BUS_NAME, FUNCTION_NAMES } from '../../shared/topology.js';
import { EMULATOR_URLS, REGISTRY_URLS } from '../stack/config.js';

/** Where the file lives. */
export const SAM_ENV_FILE = path.join(REPO_ROOT, 'local', 'sam-env.json');

/** Local value of each deploy-time variable; `null` drops the variable (the local registry has no credentials). */
const LOCAL_VALUES: Record<string, string | null> = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  KAFKA_AUTH: 'none',
  SCHEMA_REGISTRY_URL: REGISTRY_URLS.docker,
  SCHEMA_REGISTRY_USERNAME: null,
  SCHEMA_REGISTRY_PASSWORD: null,
  // The local registry needs no credentials; a secret ARN would also demand an https:// registry at cold start.
  SCHEMA_REGISTRY_SECRET_ARN: null,
  EVENT_BUS_NAME,
  SENDER_EMAIL: DEFAULT_SENDER_EMAIL,
  ...Object.fromEntries(Object.values(TABLES).map((t) => [t.env, localTableName(t)])),
};

/** Variables every function gets locally: the AWS emulators the SDK v3 picks up by itself. */
const LOCAL_EXTRAS = {
  AWS_ENDPOINT_URL: EMULATOR_URLS.default,
  AWS_ENDPOINT_URL_DYNAMODB: EMULATOR_URLS.dynamodb,
};

/** The `--env-vars` document for a synthesized template. */
export function samEnvironment(template: Template): Record<string, Record<string, string>> {
  const resources = template.toJSON().Resources as Record<
    string,
    { Properties: { Environment?: { Variables?: Record<string, unknown> } } }
  >;
  const result: Record<string, Record<string, string>> = {};
  for (const name of FUNCTION_NAMES) {
    const id = functionLogicalId(name);
    const variables = resources[id]?.Properties.Environment?.Variables ?? {};
    const local: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables).sort(([a], [b]) => a.localeCompare(b))) {
      if (key in LOCAL_VALUES) {
        const mapped = LOCAL_VALUES[key];
        if (mapped !== null && mapped !== undefined) local[key] = mapped;
      } else if (typeof value === 'string') {
        local[key] = value;
      } else {
        throw new Error(`sam-env: no local value for ${id}.${key}, got ${JSON.stringify(value)}`);
      }
    }
    result[id] = { ...local, ...LOCAL_EXTRAS };
  }
  return result;
}

/** Writes `local/sam-env.json` from a fresh (unbundled) synth with placeholder parameters. */
export function writeSamEnvironment(): string {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      'aws:cdk:bundling-stacks': [],
      senderEmail: DEFAULT_SENDER_EMAIL,
      schemaRegistryUrl: REGISTRY_URLS.docker,
      alarmEmail: 'ops@example.com',
    },
  });
  const { stack } = buildOrderflow(app, { nag: false, env: {} });
  const text = `${JSON.stringify(samEnvironment(Template.fromStack(stack)), null, 2)}\n`;
  writeFileSync(SAM_ENV_FILE, text);
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeSamEnvironment();
  console.log(`wrote ${path.relative(process.cwd(), SAM_ENV_FILE)}`);
}
