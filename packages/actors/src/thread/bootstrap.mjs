// Worker threads cannot load .ts entry files with `--import tsx` on Node 20, so each worker
// starts here: register tsx's loader, then import the TypeScript entry named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
