import { Piscina } from 'piscina';
import type { ActorContext } from './context.ts';
import { defineActor } from './kind.ts';
import type { Asks } from './ref.ts';

export interface PoolProps {
  /** Path or file URL of the task module; its default export is `(input) => output | Promise<output>`. */
  filename: string;
  minThreads?: number;
  maxThreads?: number;
  /** Tasks waiting for a thread before new ones are refused. Default 1024. */
  maxQueue?: number;
}

export type PoolMsg = { type: 'run'; input: unknown } & Asks<unknown>;

/**
 * A piscina pool behind a ref, for stateless CPU-heavy work (checksums of large buffers, say).
 * Any actor on any node asks it `{ type: 'run', input }`; the pool actor hands the task to a
 * thread and answers when it finishes, so its own mailbox keeps moving while tasks run.
 * When the queue is full the ask fails at once with a clear error (backpressure, not buffering).
 * A pool touches real threads, so it belongs in the real runtime, not in simulations.
 */
export const Pool = defineActor('actors.pool', (props: PoolProps, ctx: ActorContext<PoolMsg>) => {
  const pool = new Piscina({
    filename: props.filename,
    minThreads: props.minThreads ?? 1,
    maxThreads: props.maxThreads ?? 2,
    maxQueue: props.maxQueue ?? 1024,
    // A TypeScript task file (run from source) loads through tsx's CJS hook: piscina requires it.
    execArgv: /\.[cm]?ts$/.test(props.filename) ? ['--require', 'tsx/cjs'] : [],
  });
  return {
    receive: (msg: PoolMsg) => {
      const handle = ctx.replyHandle();
      const { input, transferList } = detach(msg.input);
      pool.run(input, { transferList }).then(
        (out: unknown) => handle && ctx.replyTo(handle, out),
        (err: unknown) => handle && ctx.replyErrorTo(handle, err instanceof Error ? err : String(err)),
      );
    },
    stopped: () => void pool.destroy(),
  };
});

/**
 * A received binary is a view into the whole transferred batch; cloning it would copy the batch.
 * Copy just its bytes into a buffer of its own and transfer that instead.
 */
function detach(input: unknown): { input: unknown; transferList: ArrayBuffer[] } {
  if (input instanceof Uint8Array) {
    const own = Uint8Array.prototype.slice.call(input);
    return { input: own, transferList: [own.buffer as ArrayBuffer] };
  }
  return { input, transferList: [] };
}
