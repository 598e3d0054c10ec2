import { Piscina } from 'piscina';
import type { TaskPool, TaskPoolSpec } from './task-pool.ts';
import { DEFAULT_MAX_QUEUE } from './task-pool.ts';

/** The real runtime's task pools: piscina threads. */
export function piscinaPools(spec: TaskPoolSpec): TaskPool {
  const pool = new Piscina({
    filename: spec.filename,
    minThreads: spec.minThreads ?? 1,
    maxThreads: spec.maxThreads ?? 2,
    maxQueue: spec.maxQueue ?? DEFAULT_MAX_QUEUE,
    // A TypeScript task file (run from source) loads through tsx's CJS hook: piscina requires it.
    // An installed package has no tsx, and a compiled task file needs none.
    execArgv: /\.[cm]?ts$/.test(spec.filename) ? ['--require', 'tsx/cjs'] : [],
  });
  return {
    run: (input) => {
      const detached = detach(input);
      return pool.run(detached.input, { transferList: detached.transferList }) as Promise<unknown>;
    },
    destroy: () => void pool.destroy(),
  };
}

/**
 * A caller's binary may be shared (a sender on this node keeps its buffer): copy just its bytes
 * into a buffer of its own and transfer that, instead of cloning.
 */
function detach(input: unknown): { input: unknown; transferList: ArrayBuffer[] } {
  if (input instanceof Uint8Array) {
    const own = Uint8Array.prototype.slice.call(input);
    return { input: own, transferList: [own.buffer as ArrayBuffer] };
  }
  return { input, transferList: [] };
}
