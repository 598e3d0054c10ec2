/**
 * Cross-thread ask round trips (Pinger on w1 asks Pong on w2, one at a time), for profiling each
 * thread with `node --cpu-prof --import tsx --conditions=@actorfs/source bench/ask-cpu.ts [count]`; prints
 * the process's CPU per round trip.
 */
import { ActorSystem } from '@actorfs/actors';
import { Pinger, Pong } from './kinds/actor-bench.ts';

const count = Number(process.argv[2] ?? 20_000);
const system = await ActorSystem.start({ workers: 2, modules: [new URL('./kinds/actor-bench.ts', import.meta.url)] });
const pong = await system.spawn(Pong, {}, { node: 'w2' });
const pinger = await system.spawn(Pinger, {}, { node: 'w1' });
await system.ask(pinger, { type: 'run', target: pong, count: 5_000 }, { timeoutMs: 60_000 });
const cpu: number[] = [];
let rtts: number[] = [];
for (let round = 0; round < 5; round++) {
  const cpu0 = process.cpuUsage();
  rtts = (await system.ask(pinger, { type: 'run', target: pong, count }, { timeoutMs: 120_000 })).sort((a, b) => a - b);
  const used = process.cpuUsage(cpu0);
  cpu.push((used.user + used.system) / count);
}
cpu.sort((a, b) => a - b);
// CPU of the whole process (every thread) per round trip: the least of 5 rounds and the median.
console.log(JSON.stringify({ count, cpu_us_per_ask_min: +cpu[0]!.toFixed(2), cpu_us_per_ask_median: +cpu[2]!.toFixed(2), p50_us: rtts[rtts.length >> 1] }));
await system.shutdown();
