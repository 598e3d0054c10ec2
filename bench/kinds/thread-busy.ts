/**
 * A bench probe on a worker node: how long its thread's event loop has been busy (ms), and how
 * long the thread has run on a CPU (ms), so a figure can say what one operation costs the thread
 * that runs, say, the lock-service master. On a loaded machine the two differ: a busy loop also
 * counts the time its thread waited for a core.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { defineActor, type ActorContext, type Asks } from '@actorfs/actors';

export type ThreadBusyMsg = { type: 'busy' } & Asks<{ activeMs: number; cpuMs: number }>;

export const ThreadBusy = defineActor('bench.thread-busy', (_props: Record<string, never>, ctx: ActorContext<ThreadBusyMsg>) => (msg: ThreadBusyMsg) => {
  if (msg.type === 'busy') ctx.reply({ activeMs: performance.eventLoopUtilization().active, cpuMs: threadCpuMs() });
});

/** This thread's time on a CPU (Linux: the first field of /proc/thread-self/schedstat, in ns); NaN where there is none. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}
