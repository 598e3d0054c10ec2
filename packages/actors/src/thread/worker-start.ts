import type { WorkerOptions } from 'node:worker_threads';

/**
 * How a worker node's thread starts. Compiled (an installed package), it runs worker-main.js with
 * plain node. From the TypeScript source (this workspace, under tsx or jest), it starts from a
 * bootstrap that registers tsx, and resolves the workspace's packages to their source as the
 * parent does (the `@actorfs/source` export condition); otherwise a kinds module would import the
 * compiled copy of this package, whose registry of kinds is not the one the node looks in.
 */
export function workerStart(workerData: Record<string, unknown>): { file: URL; options: WorkerOptions } {
  if (!import.meta.url.endsWith('.ts')) return { file: new URL('./worker-main.js', import.meta.url), options: { workerData } };
  return {
    file: new URL('./bootstrap.mjs', import.meta.url),
    options: {
      workerData: { ...workerData, entry: new URL('./worker-main.ts', import.meta.url).href },
      execArgv: [...process.execArgv, '--conditions=@actorfs/source'],
    },
  };
}
