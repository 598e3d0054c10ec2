import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defineActor, type ActorContext, type ActorRef, type Asks, type ReplyHandle } from '@actorfs/actors';

/** Counts messages and acknowledges every `ackEvery` to the sender (flow control). */
export type SinkMsg = { type: 'm'; payload?: Uint8Array } | { type: 'reset'; sender: ActorRef<BlasterMsg>; ackEvery: number };

export const Sink = defineActor('bench.sink', (_p: Record<string, never>, ctx: ActorContext<SinkMsg>) => {
  let count = 0;
  let ackEvery = 1;
  let sender: ActorRef<BlasterMsg> | undefined;
  return (msg: SinkMsg) => {
    if (msg.type === 'm') {
      if (++count % ackEvery === 0 && sender) ctx.send(sender, { type: 'ack', count });
    } else {
      count = 0;
      ackEvery = msg.ackEvery;
      sender = msg.sender;
    }
  };
});

export type BlasterMsg =
  | ({ type: 'run'; target: ActorRef<SinkMsg>; total: number; window: number; ackEvery: number; payloadBytes: number } & Asks<number>)
  | { type: 'ack'; count: number };

/** Sends `total` messages to a sink with at most `window` unacknowledged; replies the elapsed ms. */
export const Blaster = defineActor('bench.blaster', (_p: Record<string, never>, ctx: ActorContext<BlasterMsg>) => {
  let run: { target: ActorRef<SinkMsg>; total: number; window: number; sent: number; acked: number; start: number; handle: ReplyHandle; msg: SinkMsg } | undefined;
  const pump = (): void => {
    if (!run) return;
    const limit = Math.min(run.total, run.acked + run.window);
    const { target, msg } = run;
    for (let i = run.sent; i < limit; i++) ctx.send(target, msg);
    run.sent = limit;
  };
  return (msg: BlasterMsg) => {
    switch (msg.type) {
      case 'run': {
        const handle = ctx.replyHandle()!;
        const payload = msg.payloadBytes > 0 ? new Uint8Array(msg.payloadBytes).fill(7) : undefined;
        ctx.send(msg.target, { type: 'reset', sender: ctx.self, ackEvery: msg.ackEvery });
        run = { target: msg.target, total: msg.total, window: msg.window, sent: 0, acked: 0, start: ctx.now(), handle, msg: payload ? { type: 'm', payload } : { type: 'm' } };
        return pump();
      }
      case 'ack':
        if (!run) return;
        run.acked = msg.count;
        if (run.acked >= run.total) {
          ctx.replyTo(run.handle, ctx.now() - run.start);
          run = undefined;
        } else pump();
        return;
    }
  };
});

export type PingMsg = ({ type: 'run'; target: ActorRef<PongMsg>; count: number } & Asks<number[]>);
export type PongMsg = { type: 'ping' } & Asks<number>;

export const Pong = defineActor('bench.pong', (_p: Record<string, never>, ctx: ActorContext<PongMsg>) => () => ctx.reply(1));

/** Asks the target `count` times, one at a time; replies every round trip in microseconds. */
export const Pinger = defineActor('bench.pinger', (_p: Record<string, never>, ctx: ActorContext<PingMsg>) => async (msg: PingMsg) => {
  const rtts: number[] = [];
  for (let i = 0; i < msg.count; i++) {
    const t0 = ctx.now();
    await ctx.ask(msg.target, { type: 'ping' });
    rtts.push((ctx.now() - t0) * 1000);
  }
  ctx.reply(rtts);
});

export type SpawnerMsg = { type: 'spawn'; count: number } & Asks<{ ms: number; bytesPerActor: number }>;

const Idle = defineActor('bench.idle', () => () => {});

const gc = ((): (() => void) => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Spawns `count` idle children and measures the time and the heap each one costs. */
export const Spawner = defineActor('bench.spawner', (_p: Record<string, never>, ctx: ActorContext<SpawnerMsg>) => (msg: SpawnerMsg) => {
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = ctx.now();
  for (let i = 0; i < msg.count; i++) ctx.spawn(Idle, {});
  const ms = ctx.now() - t0;
  gc();
  const after = process.memoryUsage().heapUsed;
  ctx.reply({ ms, bytesPerActor: (after - before) / msg.count });
});
