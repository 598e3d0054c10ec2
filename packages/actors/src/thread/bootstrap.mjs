// Node 20 worker threads cannot load TypeScript with `--import tsx`, so a worker whose code or
// kinds modules are TypeScript starts here: register tsx's loader, then import the entry named in
// workerData.
import { workerData } from 'node:worker_threads';

const tsx = await import('tsx/esm/api').catch((err) => {
  throw new Error('a kinds module is TypeScript, so worker threads load it through tsx: install tsx, or list the compiled .js module', { cause: err });
});
tsx.register();
await import(workerData.entry);
