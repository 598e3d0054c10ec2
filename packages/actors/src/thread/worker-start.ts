import type { WorkerOptions } from 'node:worker_threads';

const fromSource = import.meta.url.endsWith('.ts');
const typeScript = /\.[cm]?ts$/;

/**
 * How a worker node's thread starts. Compiled (an installed package), it runs worker-main.js with
 * plain node, unless a kinds module is TypeScript: Node 20 workers do not inherit a parent's tsx
 * hooks, so the thread then starts from a bootstrap that registers tsx (an optional peer
 * dependency). From this package's TypeScript source (the workspace, under tsx or jest), it always
 * does, and resolves the workspace's packages to their source as the parent does (the
 * `@actorfs/source` export condition); otherwise a kinds module would import the compiled copy of
 * this package, whose registry of kinds is not the one the node looks in.
 */
export function workerStart(modules: readonly string[], workerData: Record<string, unknown>): { file: URL; options: WorkerOptions } {
  const entry = new URL(fromSource ? './worker-main.ts' : './worker-main.js', import.meta.url);
  if (!fromSource && !modules.some((m) => typeScript.test(m))) return { file: entry, options: { workerData } };
  return {
    file: new URL('./bootstrap.mjs', import.meta.url),
    options: {
      workerData: { ...workerData, entry: entry.href },
      ...(fromSource ? { execArgv: [...process.execArgv, '--conditions=@actorfs/source'] } : {}),
    },
  };
}
