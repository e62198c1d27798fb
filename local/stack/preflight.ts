/**
 * Preflight of the integration tests: they run against the real local stack and must fail loudly, never skip,
 * when it is not there.
 */
import { applyStackEnv, type StackConfig, stackConfig } from './config.js';
import { coreHealth } from './health.js';

/**
 * Returns the stack's configuration (and sets its variables and dummy AWS credentials in `process.env`), or
 * throws naming each service that does not answer and how to start the stack.
 *
 * @example
 * let config: StackConfig;
 * beforeAll(async () => { config = await requireRunningStack(); });
 */
export async function requireRunningStack(): Promise<StackConfig> {
  const config = stackConfig();
  const down = (await coreHealth(config)).filter((s) => !s.healthy);
  if (down.length > 0) {
    throw new Error(
      [
        'the integration tests need the local stack, and it is not answering:',
        ...down.map((s) => `  - ${s.service} at ${s.address}: ${s.detail}`),
        'Start it with `npm run stack:up` (stop it afterwards with `npm run stack:down`).',
      ].join('\n'),
    );
  }
  return applyStackEnv(config);
}
