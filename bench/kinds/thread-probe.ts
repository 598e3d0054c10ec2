import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { defineActor, type ActorContext, type Asks } from '@actorfs/actors';

/** What a thread spent since the probe's last 'mark': CPU and run-queue wait (Linux schedstat), event-loop busy time, GC. */
export interface ThreadSpend {
  cpuMs: number;
  runQueueMs: number;
  eluActiveMs: number;
  gcMs: number;
  gcs: number;
  /** GC milliseconds by kind (perf_hooks: 1 minor, 2 major, 4 incremental, 8 weak callbacks). */
  gcMsByKind: Record<number, number>;
}

export type ThreadProbeMsg = ({ type: 'mark' } & Asks<null>) | ({ type: 'read' } & Asks<ThreadSpend>);

function schedstat(): [number, number] {
  const [cpu, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
  return [Number(cpu) / 1e6, Number(wait) / 1e6];
}

/** Reads its own thread's spend, for the bench's probes (not part of the runtime). */
export const ThreadProbe = defineActor('bench.thread-probe', (_p: Record<string, never>, ctx: ActorContext<ThreadProbeMsg>) => {
  let gcMs = 0;
  let gcs = 0;
  let byKind: Record<number, number> = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcs++;
      const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
      byKind[kind] = (byKind[kind] ?? 0) + e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  let start = { sched: schedstat(), elu: performance.eventLoopUtilization(), gcMs: 0, gcs: 0 };
  return (msg: ThreadProbeMsg) => {
    if (msg.type === 'mark') {
      start = { sched: schedstat(), elu: performance.eventLoopUtilization(), gcMs, gcs };
      byKind = {};
      return ctx.reply(null);
    }
    const [cpu, wait] = schedstat();
    ctx.reply({
      cpuMs: cpu - start.sched[0],
      runQueueMs: wait - start.sched[1],
      eluActiveMs: performance.eventLoopUtilization(start.elu).active,
      gcMs: gcMs - start.gcMs,
      gcs: gcs - start.gcs,
      gcMsByKind: byKind,
    });
  };
});
