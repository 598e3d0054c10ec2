import { handOver, type ActorContext, type ReplyHandle, type StreamEvent, type StreamWriter } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { ChunkserverMsg, PushMeta } from '../protocol.ts';
import { prepareBlocks } from './block-store.ts';
import { RetryableError } from './mutations.ts';
import { PushBuffer, PushBufferError } from './push-buffer.ts';

/** Clients waiting at once for pushed data to arrive; beyond it a new wait is refused. */
const MAX_READY_WAITERS = 10_000;

interface Incoming {
  dataId: string;
  /** The stream to the next server of the chain, if any. */
  forward: Forward | undefined;
}

/**
 * The stream to the next server has the whole push as its window, so a piece is sent on in the
 * turn it arrives and no turn waits for a downstream server's credit (two chains through the
 * same servers in opposite orders would wait on each other). What is in flight is held in the
 * buffer too, so the buffer's bound covers it: an entry dropped from the buffer aborts its forward.
 */
interface Forward {
  writer: StreamWriter;
  failed: boolean;
}

/**
 * The receiving side of the data push: data arrives on a stream whose open names its data id and
 * the rest of the chain; each piece is buffered and sent on to the next server as it arrives.
 * `data-ready` asks wait here until the data is complete.
 */
export class PushReceiver {
  readonly buffer: PushBuffer;
  private readonly incoming = new Map<string, Incoming>();
  private readonly waiters = new Map<string, Array<{ handle: ReplyHandle; sinceMs: number }>>();
  private waiterCount = 0;

  constructor(
    private readonly ctx: ActorContext<ChunkserverMsg>,
    private readonly config: GfsConfig,
  ) {
    this.buffer = new PushBuffer(config);
  }

  onStream(event: StreamEvent): void {
    switch (event.type) {
      case 'stream-open':
        return this.opened(event.stream, event.meta);
      case 'stream-data': {
        const s = this.incoming.get(event.stream);
        if (!s) return;
        try {
          this.keep(s.dataId, event.chunk);
        } catch (err) {
          if (!(err instanceof PushBufferError)) throw err;
          return this.fail(event.stream, err.message, true);
        }
        // kept as copies already: the chunk itself moves on to the next server
        const f = s.forward;
        if (f) f.writer.write(handOver(event.chunk)).catch((err: unknown) => this.forwardFailed(f, s.dataId, err));
        return;
      }
      case 'stream-end': {
        const s = this.incoming.get(event.stream);
        if (!s) return;
        this.incoming.delete(event.stream);
        this.buffer.complete(s.dataId, this.ctx.now());
        const f = s.forward;
        if (f) f.writer.end().catch((err: unknown) => this.forwardFailed(f, s.dataId, err));
        this.settleWaiters(s.dataId, undefined);
        return;
      }
      case 'stream-error':
        return this.fail(event.stream, event.reason, false);
      default: {
        const never: never = event;
        this.ctx.unhandled(never);
      }
    }
  }

  /** A push in one message: kept (once: a duplicate changes nothing) and sent on to the next server. */
  onPush(msg: Extract<ChunkserverMsg, { type: 'push' }>): void {
    if (typeof msg.dataId !== 'string' || !Array.isArray(msg.chain) || !(msg.data instanceof Uint8Array)) throw new Error('push: dataId, chain and data (bytes) are required');
    if (this.buffer.has(msg.dataId)) return;
    const now = this.ctx.now();
    this.buffer.begin(msg.dataId, now);
    this.keep(msg.dataId, msg.data);
    this.buffer.complete(msg.dataId, now);
    const [next, ...rest] = msg.chain;
    if (next) this.ctx.send(next, { type: 'push', dataId: msg.dataId, chain: rest, data: msg.data });
    this.settleWaiters(msg.dataId, undefined);
  }

  /** Answers the ask now if the data is here in full, else when it is (or with an error at the timeout). */
  whenReady(dataId: string, handle: ReplyHandle): void {
    if (typeof dataId !== 'string') throw new TypeError('data-ready: dataId must be a string');
    if (this.buffer.isComplete(dataId)) return this.ctx.replyTo(handle, true);
    if (this.waiterCount >= MAX_READY_WAITERS) throw new Error(`${MAX_READY_WAITERS} clients already wait for pushed data here`);
    const list = this.waiters.get(dataId) ?? [];
    list.push({ handle, sinceMs: this.ctx.now() });
    this.waiters.set(dataId, list);
    this.waiterCount++;
  }

  /** Drops data unused for pushTimeoutMs, and fails waits that lasted as long. */
  expire(): void {
    const now = this.ctx.now();
    for (const id of this.buffer.expire(now)) this.dropped(id, `not used within ${this.config.pushTimeoutMs} ms`);
    for (const [id, list] of this.waiters) {
      const late = list.filter((w) => w.sinceMs + this.config.pushTimeoutMs <= now);
      if (late.length === 0) continue;
      for (const w of late) this.ctx.replyErrorTo(w.handle, new RetryableError(`pushed data ${id} did not arrive within ${this.config.pushTimeoutMs} ms`));
      this.waiterCount -= late.length;
      const rest = list.filter((w) => !late.includes(w));
      if (rest.length === 0) this.waiters.delete(id);
      else this.waiters.set(id, rest);
    }
  }

  /** Buffers arriving data as the blocks a write stores (see prepareBlocks), making room if needed. */
  private keep(dataId: string, data: Uint8Array): void {
    const now = this.ctx.now();
    for (const piece of prepareBlocks(data, this.config.blockSizeBytes)) {
      for (const id of this.buffer.add(dataId, piece, now)) this.dropped(id, 'dropped from the push buffer to make room');
    }
  }

  private opened(stream: string, meta: unknown): void {
    const m = meta as Partial<PushMeta> | null;
    if (typeof m?.dataId !== 'string' || !Array.isArray(m.chain) || !Number.isSafeInteger(m.lengthBytes)) return this.ctx.abortStream(stream, 'a push names its dataId, lengthBytes and chain');
    if (m.lengthBytes! > this.config.pushBufferBytes) return this.ctx.abortStream(stream, `a push of ${m.lengthBytes} bytes is over the buffer's ${this.config.pushBufferBytes}`);
    this.buffer.begin(m.dataId, this.ctx.now());
    const [next, ...rest] = m.chain;
    let forward: Forward | undefined;
    if (next) {
      const lengthBytes = m.lengthBytes!;
      const writer = this.ctx.openStream(next, { meta: { dataId: m.dataId, lengthBytes, chain: rest } satisfies PushMeta, windowBytes: Math.max(1, lengthBytes), idleTimeoutMs: this.config.pushTimeoutMs });
      forward = { writer, failed: false };
    }
    this.incoming.set(stream, { dataId: m.dataId, forward });
  }

  /** The next server's copy is lost (its data-ready fails, and the client pushes again); said once per stream. */
  private forwardFailed(f: Forward, dataId: string, err: unknown): void {
    if (f.failed) return;
    f.failed = true;
    this.ctx.log.warn('push forward failed', { dataId, error: String(err) });
  }

  private fail(stream: string, reason: string, abortSender: boolean): void {
    const s = this.incoming.get(stream);
    if (!s) return;
    this.incoming.delete(stream);
    if (abortSender) this.ctx.abortStream(stream, reason);
    s.forward?.writer.abort(reason);
    this.buffer.drop(s.dataId);
    this.settleWaiters(s.dataId, `push of ${s.dataId} failed: ${reason}`);
  }

  /** An entry dropped while it was still arriving ends its stream; waiters for it get an error. */
  private dropped(dataId: string, why: string): void {
    for (const [stream, s] of this.incoming) if (s.dataId === dataId) this.fail(stream, why, true);
    this.settleWaiters(dataId, `pushed data ${dataId} ${why}`);
  }

  private settleWaiters(dataId: string, error: string | undefined): void {
    const list = this.waiters.get(dataId);
    if (!list) return;
    this.waiters.delete(dataId);
    this.waiterCount -= list.length;
    for (const w of list) {
      if (error === undefined) this.ctx.replyTo(w.handle, true);
      else this.ctx.replyErrorTo(w.handle, new RetryableError(error));
    }
  }
}
