import { hostOf } from './cell-context.ts';
import type { ActorContext } from './context.ts';
import { defineActor } from './kind.ts';
import type { Asks } from './ref.ts';
import type { TaskPoolSpec } from './tasks/task-pool.ts';

export type PoolProps = TaskPoolSpec;

export type PoolMsg = { type: 'run'; input: unknown } & Asks<unknown>;

/**
 * A pool of threads behind a ref, for stateless CPU-heavy work (checksums of large buffers, say).
 * Any actor on any node asks it `{ type: 'run', input }`; the pool actor hands the task to a
 * thread and answers when it finishes, so its own mailbox keeps moving while tasks run.
 * When the queue is full the ask fails at once with a clear error (backpressure, not buffering).
 * The node's host makes the pool: piscina threads in the real runtime; in the simulator the task
 * runs in the simulation's thread at a simulated cost, so actors that use a pool run unchanged.
 */
export const Pool = defineActor('actors.pool', (props: PoolProps, ctx: ActorContext<PoolMsg>) => {
  const pools = hostOf(ctx).taskPools;
  if (!pools) throw new Error(`node ${ctx.node} has no task pools (give NodeOptions.taskPools)`);
  const pool = pools(props);
  return {
    receive: (msg: PoolMsg) => {
      const handle = ctx.replyHandle();
      pool.run(msg.input).then(
        (out: unknown) => handle && ctx.replyTo(handle, out),
        (err: unknown) => handle && ctx.replyErrorTo(handle, err instanceof Error ? err : String(err)),
      );
    },
    stopped: () => pool.destroy(),
  };
});
