/**
 * CPU per same-thread tell, a bare ActorNode on this thread against a node inside a worker system
 * (process CPU over each round, both with the runtime's own settings unless CHECK=0|1 sets
 * checkSameThreadMessages).
 * `tsx --conditions=@actorfs/source bench/same-thread-cpu.ts bare|worker [total]`
 */
import { ActorNode, ActorSystem, MemoryStore } from '@actorfs/actors';
import { realEnv } from '../packages/actors/src/thread/real-env.ts';
import { Blaster, Sink } from './kinds/actor-bench.ts';

const mode = process.argv[2] ?? 'bare';
const total = Number(process.argv[3] ?? 2_000_000);
const check = process.env.CHECK === undefined ? undefined : process.env.CHECK === '1';
const run = { type: 'run' as const, window: 50_000, ackEvery: 10_000, payloadBytes: 0 };

/** Five rounds of `total` messages after a warm-up: the least CPU per message (the one least disturbed by other load) and the median. */
async function measure(ask: (n: number) => Promise<number>): Promise<void> {
  await ask(200_000);
  const ns: number[] = [];
  for (let round = 0; round < 5; round++) {
    const cpu0 = process.cpuUsage();
    await ask(total);
    const cpu = process.cpuUsage(cpu0);
    ns.push(((cpu.user + cpu.system) * 1000) / total);
  }
  ns.sort((a, b) => a - b);
  console.log(JSON.stringify({ mode, check, cpu_ns_per_msg_min: Math.round(ns[0]!), cpu_ns_per_msg_median: Math.round(ns[2]!) }));
}

if (mode === 'bare') {
  const node = new ActorNode({
    name: 'bare',
    env: realEnv,
    seed: 1,
    logSink: () => undefined,
    openStore: () => new MemoryStore((done) => setImmediate(done)),
    ...(check === undefined ? {} : { checkSameThreadMessages: check }),
  });
  const sink = node.spawn(Sink, {});
  const blaster = node.spawn(Blaster, {});
  await measure((n) => node.ask(blaster, { ...run, target: sink, total: n }, 120_000) as Promise<number>);
  await node.shutdown();
} else {
  const system = await ActorSystem.start({ workers: 1, modules: [new URL('./kinds/actor-bench.ts', import.meta.url)], ...(check === undefined ? {} : { checkSameThreadMessages: check }) });
  const sink = await system.spawn(Sink, {}, { node: 'w1' });
  const blaster = await system.spawn(Blaster, {}, { node: 'w1' });
  await measure((n) => system.ask(blaster, { ...run, target: sink, total: n }, { timeoutMs: 120_000 }));
  await system.shutdown();
}
