/**
 * `local/sam-env.json`: the variables `sam local invoke --env-vars` gives each function (by logical id), derived
 * from the synthesized template so they cannot drift from what the stack sets. The variables of the function's
 * contract (`shared/functions.ts`: brokers, registry, table names, the bus, the sender) take their local-stack
 * values (`local/stack/function-env.ts`); the others (Powertools) are kept as the stack sets them. Regenerate with
 * `npm run sam-env`. Dev tooling: it lives in `local/`, so `infra/` imports nothing from `local/`.
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
import { envSchemaOf } from '../../shared/functions.js';
import { FUNCTION_NAMES } from '../../shared/topology.js';
import { EMULATOR_URLS, REGISTRY_URLS } from '../stack/config.js';
import { type LocalResourceOptions, localFunctionEnv } from '../stack/function-env.js';

/** Where the file lives. */
export const SAM_ENV_FILE = path.join(REPO_ROOT, 'local', 'sam-env.json');

/** The local stack `sam local invoke --docker-network host` reaches; no developer variable leaks into the file. */
const LOCAL_STACK: LocalResourceOptions = {
  kafkaBrokers: '127.0.0.1:9092',
  schemaRegistryUrl: REGISTRY_URLS.docker,
  pollerMode: 'provisioned',
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
    const contract = envSchemaOf(name).shape;
    const localValues = localFunctionEnv(name, LOCAL_STACK);
    const local: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables).sort(([a], [b]) => a.localeCompare(b))) {
      if (key in contract) {
        // A contract variable with no local value is dropped: the local registry needs no credentials, and a
        // secret ARN would also demand an https:// registry at cold start.
        const mapped = localValues[key];
        if (mapped !== undefined) local[key] = mapped;
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
