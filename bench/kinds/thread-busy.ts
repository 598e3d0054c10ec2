/**
 * A bench probe on a worker node: how long its thread's event loop has been busy (ms), so a
 * figure can say what one operation costs the thread that runs, say, the lock-service master.
 */
import { performance } from 'node:perf_hooks';
import { defineActor, type ActorContext, type Asks } from '@actorfs/actors';

export type ThreadBusyMsg = { type: 'busy' } & Asks<{ activeMs: number }>;

export const ThreadBusy = defineActor('bench.thread-busy', (_props: Record<string, never>, ctx: ActorContext<ThreadBusyMsg>) => (msg: ThreadBusyMsg) => {
  if (msg.type === 'busy') ctx.reply({ activeMs: performance.eventLoopUtilization().active });
});
