/**
 * The pipeline without the HTTP API or status line, in its own process: what the crash test kills with SIGKILL
 * and starts again. Prints `ready` once every consumer has joined its group.
 */
import { startPipeline } from './pipeline.js';

const pipeline = await startPipeline({ log: (m) => process.stderr.write(`${m}\n`) });
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await pipeline.stop();
  process.exit(0);
});
