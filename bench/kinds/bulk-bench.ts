import { defineActor, type ActorContext, type ActorRef, type Asks, type ReplyHandle, type StreamEvent } from '@actorfs/actors';

/** Consumes a stream; answers 'done' with the bytes once it ends. */
export type StreamSinkMsg = StreamEvent | ({ type: 'done' } & Asks<number>);

export const BenchStreamSink = defineActor('bench.stream-sink', (_p: Record<string, never>, ctx: ActorContext<StreamSinkMsg>) => {
  let bytes = 0;
  let ended = false;
  let waiting: ReplyHandle<number> | undefined;
  return (msg: StreamSinkMsg) => {
    switch (msg.type) {
      case 'stream-data':
        bytes += msg.chunk.length;
        return;
      case 'stream-end':
      case 'stream-error':
        ended = true;
        if (waiting) ctx.replyTo(waiting, bytes);
        return;
      case 'stream-open':
        bytes = 0;
        ended = false;
        return;
      case 'done':
        if (ended) return ctx.reply(bytes);
        waiting = ctx.replyHandle(msg);
        return;
    }
  };
});

/** Streams `total` bytes in `chunkBytes` chunks to the sink; replies the elapsed ms once the sink consumed the end. */
export type StreamSourceMsg = { type: 'stream'; to: ActorRef<StreamSinkMsg>; total: number; chunkBytes: number; windowBytes: number } & Asks<number>;

export const BenchStreamSource = defineActor('bench.stream-source', (_p: Record<string, never>, ctx: ActorContext<StreamSourceMsg>) => async (msg: StreamSourceMsg) => {
  const chunk = new Uint8Array(msg.chunkBytes).fill(7);
  const t0 = ctx.now();
  const w = ctx.openStream(msg.to, { windowBytes: msg.windowBytes });
  for (let sent = 0; sent < msg.total; sent += msg.chunkBytes) await w.write(chunk);
  await w.end();
  ctx.reply(ctx.now() - t0);
});

/** Puts `count` values of `bytes` each in its storage domain; answers when they are durable. */
export type PutterMsg = { type: 'puts'; from: number; count: number; bytes: number } & Asks<number>;

export const Putter = defineActor('bench.putter', (_p: Record<string, never>, ctx: ActorContext<PutterMsg>) => {
  let value = new Uint8Array(0);
  return (msg: PutterMsg) => {
    if (value.length !== msg.bytes) value = new Uint8Array(msg.bytes).fill(3);
    for (let i = 0; i < msg.count; i++) ctx.storage.put(msg.from + i, value);
    ctx.replyWhenDurable(msg.count);
  };
});

/** Writes 64 KiB values as fast as its domain takes them, between 'start' and 'stop'. */
export type BulkMsg = { type: 'start'; bytes: number } | ({ type: 'stop' } & Asks<number>) | { type: 'go' };

export const BulkWriter = defineActor('bench.bulk-writer', (_p: Record<string, never>, ctx: ActorContext<BulkMsg>) => {
  let running = false;
  let n = 0;
  let value = new Uint8Array(0);
  return (msg: BulkMsg) => {
    switch (msg.type) {
      case 'start':
        running = true;
        value = new Uint8Array(msg.bytes).fill(5);
        return ctx.send(ctx.self, { type: 'go' });
      case 'go':
        if (!running) return;
        for (let i = 0; i < 16; i++) ctx.storage.put(n++ % 4096, value);
        // Its domain's bound holds the next 'go' back while too much waits for a commit.
        return ctx.send(ctx.self, { type: 'go' });
      case 'stop':
        running = false;
        return ctx.reply(n);
    }
  };
});

/** A durable reply, as an acceptor's: a small put, answered once synced. */
export type DurablePongMsg = { type: 'ping' } & Asks<number>;

export const DurablePong = defineActor('bench.durable-pong', (_p: Record<string, never>, ctx: ActorContext<DurablePongMsg>) => {
  let n = 0;
  return () => {
    ctx.storage.put('promise', n++);
    ctx.replyWhenDurable(n);
  };
});
