/**
 * Where a cross-thread stream's time goes: `tsx --conditions=@actorfs/source bench/stream-cpu.ts [MiB] [rounds] [idle actors on w2]`
 * streams MiB in 64 KiB chunks from w1 to w2 (4 MiB window) and sends the same bytes as 64 KiB
 * tells (the bench's baseline), alternately, each `rounds` times in one process; prints per round
 * MiB/s and each worker thread's CPU, run-queue wait, event-loop busy time and GC per MiB.
 */
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { Blaster, Sink, Spawner } from './kinds/actor-bench.ts';
import { BenchStreamSink, BenchStreamSource } from './kinds/bulk-bench.ts';
import { ThreadProbe, type ThreadProbeMsg, type ThreadSpend } from './kinds/thread-probe.ts';

const MIB = 1_048_576;
const KIB64 = 65_536;
const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 5);
/** Idle actors spawned on the receiving node first (the actors suite spawns 100,000 there before its stream). */
const idleOnReceiver = Number(process.argv[4] ?? 0);
const system = await ActorSystem.start({
  workers: 2,
  modules: ['./kinds/actor-bench.ts', './kinds/bulk-bench.ts', './kinds/thread-probe.ts'].map((m) => new URL(m, import.meta.url)),
});
const probes: Array<ActorRef<ThreadProbeMsg>> = [await system.spawn(ThreadProbe, {}, { node: 'w1' }), await system.spawn(ThreadProbe, {}, { node: 'w2' })];
const sink = await system.spawn(BenchStreamSink, {}, { node: 'w2' });
const source = await system.spawn(BenchStreamSource, {}, { node: 'w1' });
const tellSink = await system.spawn(Sink, {}, { node: 'w2' });
const blaster = await system.spawn(Blaster, {}, { node: 'w1' });
if (idleOnReceiver > 0) await system.ask(await system.spawn(Spawner, {}, { node: 'w2' }), { type: 'spawn', count: idleOnReceiver }, { timeoutMs: 60_000 });

const stream = async (total: number): Promise<number> => {
  const ms = await system.ask(source, { type: 'stream', to: sink, total, chunkBytes: KIB64, windowBytes: 4 * MIB }, { timeoutMs: 300_000 });
  if ((await system.ask(sink, { type: 'done' }, { timeoutMs: 60_000 })) !== total) throw new Error('the stream lost bytes');
  return ms;
};
const tells = (total: number): Promise<number> =>
  system.ask(blaster, { type: 'run', target: tellSink, total: total / KIB64, window: 64, ackEvery: 16, payloadBytes: KIB64 }, { timeoutMs: 300_000 });

const measured = async (what: string, run: () => Promise<number>): Promise<void> => {
  for (const p of probes) await system.ask(p, { type: 'mark' });
  const ms = await run();
  const [a, b] = (await Promise.all(probes.map((p) => system.ask(p, { type: 'read' })))) as [ThreadSpend, ThreadSpend];
  const per = (s: ThreadSpend): string => `cpu ${(s.cpuMs / mib * 1000).toFixed(0)} us/MiB, rq ${(s.runQueueMs / mib * 1000).toFixed(0)}, busy ${(s.eluActiveMs / mib * 1000).toFixed(0)}, gc ${(s.gcMs / mib * 1000).toFixed(1)} (${s.gcs} ${Object.entries(s.gcMsByKind).map(([k, v]) => `k${k}:${v.toFixed(0)}ms`).join(' ')})`;
  console.log(`${what.padEnd(6)} ${(mib / (ms / 1000)).toFixed(0).padStart(5)} MiB/s | w1 ${per(a)} | w2 ${per(b)}`);
};

await stream(64 * MIB);
await tells(64 * MIB);
for (let r = 0; r < rounds; r++) {
  await measured('stream', () => stream(mib * MIB));
  await measured('tell', () => tells(mib * MIB));
}
await system.shutdown();
