import { ActorSystem, nativeDecoding } from '@actorfs/actors';
import { Blaster, Pinger, Pong, Sink, Spawner } from '../kinds/actor-bench.ts';
import { rawPingPong, rawPostMessage } from '../raw.ts';
import { collector, percentile, type Suite } from '../suite.ts';

const kinds = new URL('../kinds/actor-bench.ts', import.meta.url);

/** Figures for the actor runtime, with raw postMessage baselines measured in the same run. */
export const suite: Suite = {
  async run(report) {
    const { add, figures } = collector(report);
    const system = await ActorSystem.start({ workers: 2, modules: [kinds] });
    try {
      // Same thread: both actors on w1.
      {
        const sink = await system.spawn(Sink, {}, { node: 'w1' });
        const blaster = await system.spawn(Blaster, {}, { node: 'w1' });
        const total = 5_000_000;
        await system.ask(blaster, { type: 'run', target: sink, total: 200_000, window: 50_000, ackEvery: 10_000, payloadBytes: 0 }, { timeoutMs: 60_000 });
        const ms = await system.ask(blaster, { type: 'run', target: sink, total, window: 50_000, ackEvery: 10_000, payloadBytes: 0 }, { timeoutMs: 120_000 });
        add({ name: 'tell_same_thread_msgs_per_s', value: (total / ms) * 1000, unit: 'msg/s', goal: '>= 10,000,000' });
      }
      // Cross thread: sender on w1, receiver on w2.
      {
        const sink = await system.spawn(Sink, {}, { node: 'w2' });
        const blaster = await system.spawn(Blaster, {}, { node: 'w1' });
        const total = 5_000_000;
        await system.ask(blaster, { type: 'run', target: sink, total: 200_000, window: 40_000, ackEvery: 5_000, payloadBytes: 0 }, { timeoutMs: 60_000 });
        const ms = await system.ask(blaster, { type: 'run', target: sink, total, window: 40_000, ackEvery: 5_000, payloadBytes: 0 }, { timeoutMs: 120_000 });
        add({ name: 'tell_cross_thread_msgs_per_s', value: (total / ms) * 1000, unit: 'msg/s', goal: '>= 2,500,000' });

        const big = 20_000;
        await system.ask(blaster, { type: 'run', target: sink, total: 2_000, window: 64, ackEvery: 16, payloadBytes: 65_536 }, { timeoutMs: 60_000 });
        const bigMs = await system.ask(blaster, { type: 'run', target: sink, total: big, window: 64, ackEvery: 16, payloadBytes: 65_536 }, { timeoutMs: 120_000 });
        add({ name: 'tell_cross_thread_64kib_mb_per_s', value: (big * 65_536) / 1_048_576 / (bigMs / 1000), unit: 'MiB/s', goal: '>= 1,000' });
      }
      add({ name: 'raw_postmessage_msgs_per_s', value: await rawPostMessage(1_000_000), unit: 'msg/s', goal: 'baseline' });
      // Ask round trips w1 -> w2.
      {
        const pong = await system.spawn(Pong, {}, { node: 'w2' });
        const pinger = await system.spawn(Pinger, {}, { node: 'w1' });
        await system.ask(pinger, { type: 'run', target: pong, count: 5_000 }, { timeoutMs: 60_000 });
        const rtts = (await system.ask(pinger, { type: 'run', target: pong, count: 20_000 }, { timeoutMs: 60_000 })).sort((a, b) => a - b);
        add({ name: 'ask_cross_thread_p50_us', value: percentile(rtts, 50), unit: 'us', goal: '<= 50' });
        add({ name: 'ask_cross_thread_p99_us', value: percentile(rtts, 99), unit: 'us', goal: '<= 150' });
      }
      const raw = (await rawPingPong(20_000)).sort((a, b) => a - b);
      add({ name: 'raw_pingpong_p50_us', value: percentile(raw, 50), unit: 'us', goal: 'baseline' });
      add({ name: 'raw_pingpong_p99_us', value: percentile(raw, 99), unit: 'us', goal: 'baseline' });
      // Spawning and idle footprint: 100,000 actors on one node.
      {
        const spawner = await system.spawn(Spawner, {}, { node: 'w2' });
        const r = await system.ask(spawner, { type: 'spawn', count: 100_000 }, { timeoutMs: 60_000 });
        add({ name: 'spawn_actors_per_s', value: (100_000 / r.ms) * 1000, unit: 'actor/s', goal: '>= 100,000' });
        add({ name: 'idle_actor_bytes', value: r.bytesPerActor, unit: 'B', goal: '<= 1,000' });
      }
      console.log(`(msgpackr native decoding on main: ${nativeDecoding()})`);
    } finally {
      await system.shutdown();
    }
    return figures;
  },
};
