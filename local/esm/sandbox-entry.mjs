// Entry of a function sandbox (a worker thread, see sandbox.ts): registers tsx's loader for this thread, then
// loads the TypeScript worker. A worker's own entry file is read before `--import` hooks apply, hence this file.
import { register } from 'tsx/esm/api';

register();
await import('./sandbox-worker.ts');
