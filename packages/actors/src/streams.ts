import type { ActorCell } from './cell.ts';
import { checkValue } from './message-shape.ts';
import type { ActorNode } from './node.ts';
import type { TimerHandle } from './node-host.ts';
import { ActorRef, type AnyRef } from './ref.ts';

/**
 * What a stream's receiver gets, as messages of its own protocol: include `StreamEvent` in the
 * actor's message union. Events of one stream arrive in order: open, data…, then end or error.
 * Stream events never count against the mailbox's capacity (they are bounded by the stream's
 * window instead), so they never go to dead letters because a mailbox is full.
 */
export type StreamEvent =
  | { type: 'stream-open'; stream: string; from: AnyRef; meta: unknown }
  | { type: 'stream-data'; stream: string; chunk: Uint8Array }
  | { type: 'stream-end'; stream: string }
  | { type: 'stream-error'; stream: string; reason: string };

export interface StreamOptions {
  /** Bytes sent but not yet consumed by the receiver, at most. Default 1 MiB. */
  windowBytes?: number;
  /** Plain data the receiver gets with `stream-open` (what the stream is, say). */
  meta?: unknown;
  /** A writer waiting this long for credit, or for the end to be consumed, fails the stream. Default 30,000. */
  idleTimeoutMs?: number;
}

/** The sending end. Await each write: one write at a time may wait for credit. */
export interface StreamWriter {
  readonly id: string;
  /**
   * Resolves once the chunk is sent (at once while the window has room). The chunk is handed
   * over, not copied here: do not change or reuse it after calling write. A receiver on the same
   * thread gets this very array; to another thread or process it is copied when it leaves, which
   * may be after write resolves (written chunks leave together). To move a chunk's memory to
   * another thread rather than copy it, write `handOver(chunk)`.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Resolves when the receiver has consumed every chunk and the end. */
  end(): Promise<void>;
  /** Ends the stream with an error on both sides. */
  abort(reason: string): void;
}

export class StreamError extends Error {
  override readonly name = 'StreamError';
  constructor(
    readonly stream: string,
    readonly reason: string,
  ) {
    super(`stream ${stream} failed: ${reason}`);
  }
}

/** Marks a mailbox entry as stream data: when its receive is done, its bytes are credited back. */
export class StreamCredit {
  constructor(
    readonly stream: string,
    readonly bytes: number,
  ) {}
}

/** Streams a node may have open at once, each way; an open beyond it is refused. */
export const MAX_STREAMS_PER_NODE = 10_000;
const DEFAULT_WINDOW_BYTES = 1 << 20;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/**
 * Written chunks are sent together once they make a quarter of the window (at most this many
 * bytes, a transport batch's size), so a transport that batches carries them in one batch; and
 * credit comes back in steps of a quarter of the window. A batch and a credit per chunk cost
 * each thread more than the bytes themselves.
 */
const MAX_BATCH_BYTES = 1 << 20;
const WINDOW_STEPS = 4;
const WRITTEN: Promise<void> = Promise.resolve();

/** Node-to-node stream control, to the '$stream' endpoint. `seq` numbers data, so a loss is seen, not skipped. */
type Wire =
  | { t: 'open'; id: string; to: string; from: AnyRef; meta: unknown; window: number }
  | { t: 'data'; id: string; seq: number; chunk: Uint8Array }
  | { t: 'end'; id: string; seq: number }
  /** The sender waits for credit (this follows every chunk it sent before). */
  | { t: 'wait'; id: string }
  | { t: 'credit'; id: string; consumed: number }
  | { t: 'done'; id: string }
  | { t: 'abort'; id: string; reason: string };

interface Outgoing {
  id: string;
  owner: ActorCell;
  peer: string;
  window: number;
  idleMs: number;
  /** Bytes written (the pending ones too). */
  sent: number;
  consumed: number;
  seq: number;
  /** Written chunks not yet sent: they leave together once they make a batch, before a write waits, or soon after. */
  pending: Uint8Array[];
  pendingBytes: number;
  batchBytes: number;
  flushQueued: boolean;
  readonly flushLater: () => void;
  /** A write waiting for credit. */
  waiting: { chunk: Uint8Array; resolve: () => void; reject: (e: Error) => void } | undefined;
  ending: { resolve: () => void; reject: (e: Error) => void } | undefined;
  timer: TimerHandle | undefined;
  failed: StreamError | undefined;
}

interface Incoming {
  id: string;
  peer: string;
  cell: ActorCell;
  window: number;
  nextSeq: number;
  /** Delivered to the mailbox, not yet consumed. */
  buffered: number;
  consumed: number;
  /** Consumed bytes the sender was told of. */
  granted: number;
  grantStep: number;
  /** The sender said it waits for credit, and has not yet had all of what it sent before granted. */
  senderWaits: boolean;
  ended: boolean;
}

/** What a node's streams did, for tuning and tests: counts since the node started. */
export interface StreamCounts {
  chunksSent: number;
  /** Bytes of the chunks sent (left this node's sending ends). */
  bytesSent: number;
  /** Bytes of the chunks that arrived in order at this node's receiving ends. */
  bytesReceived: number;
  /** Times written chunks left together. */
  batches: number;
  creditsSent: number;
  /** Writes that waited for credit. */
  creditWaits: number;
}

/** A node's stream figures (NodeStats.streams): the counts, and the streams open now each way. */
export interface StreamStats extends StreamCounts {
  openSending: number;
  openReceiving: number;
}

/**
 * A node's streams, both ways. Flow control is by credit: the sender may have `window` bytes
 * sent but not consumed; the receiver's node credits a chunk back once the actor's receive for
 * it is done. Memory is bounded by the windows: a sender waits, and a receiver node refuses a
 * stream whose sender overruns its window.
 */
export class NodeStreams {
  private readonly out = new Map<string, Outgoing>();
  private readonly in = new Map<string, Incoming>();
  private nextId = 1;
  readonly counts: StreamCounts = { chunksSent: 0, bytesSent: 0, bytesReceived: 0, batches: 0, creditsSent: 0, creditWaits: 0 };

  constructor(private readonly node: ActorNode) {}

  stats(): StreamStats {
    return { ...this.counts, openSending: this.out.size, openReceiving: this.in.size };
  }

  open(owner: ActorCell, target: AnyRef, opts: StreamOptions): StreamWriter {
    if (this.out.size >= MAX_STREAMS_PER_NODE) throw new Error(`node ${this.node.name} has ${MAX_STREAMS_PER_NODE} streams open; no more`);
    const window = opts.windowBytes ?? DEFAULT_WINDOW_BYTES;
    if (!(Number.isSafeInteger(window) && window > 0)) throw new RangeError(`windowBytes must be a positive integer, got ${window}`);
    checkValue(opts.meta, 'meta');
    const id = `${this.node.name}:${(this.nextId++).toString(36)}`;
    const s: Outgoing = {
      id,
      owner,
      peer: target.node,
      window,
      idleMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      sent: 0,
      consumed: 0,
      seq: 0,
      pending: [],
      pendingBytes: 0,
      batchBytes: Math.min(Math.ceil(window / WINDOW_STEPS), MAX_BATCH_BYTES),
      flushQueued: false,
      flushLater: () => {
        s.flushQueued = false;
        if (!s.failed) this.flush(s);
      },
      waiting: undefined,
      ending: undefined,
      timer: undefined,
      failed: undefined,
    };
    this.out.set(id, s);
    this.wire(s.peer, { t: 'open', id, to: target.id, from: owner.ref, meta: opts.meta, window });
    return {
      id,
      write: (chunk) => this.write(s, chunk),
      end: () => this.end(s),
      abort: (reason) => this.fail(s, reason, true),
    };
  }

  private write(s: Outgoing, chunk: Uint8Array): Promise<void> {
    if (s.failed) return Promise.reject(s.failed);
    if (!(chunk instanceof Uint8Array)) return Promise.reject(new TypeError(`stream ${s.id}: a chunk is a Uint8Array`));
    if (s.ending) return Promise.reject(new StreamError(s.id, 'write after end'));
    if (s.waiting) return Promise.reject(new StreamError(s.id, 'a write is already waiting for credit: await each write'));
    if (fits(s, chunk.length)) {
      this.queue(s, chunk);
      return WRITTEN;
    }
    this.counts.creditWaits++;
    // What was written must reach the receiver, or no credit would come back; and the receiver,
    // which grants in steps, must know to grant what it has consumed once it has consumed all.
    this.flush(s);
    if (!s.failed) this.wire(s.peer, { t: 'wait', id: s.id });
    if (s.failed) return Promise.reject(s.failed);
    return new Promise((resolve, reject) => {
      s.waiting = { chunk, resolve, reject };
      this.arm(s);
    });
  }

  private queue(s: Outgoing, chunk: Uint8Array): void {
    s.sent += chunk.length;
    s.pending.push(chunk);
    s.pendingBytes += chunk.length;
    if (s.pendingBytes >= s.batchBytes) this.flush(s);
    else if (!s.flushQueued) {
      s.flushQueued = true;
      this.node.env.defer(s.flushLater);
    }
  }

  /**
   * Sends the pending chunks, a data message each, in one go: a transport that batches carries
   * them together, and splits them where its bound on a message would be passed.
   */
  private flush(s: Outgoing): void {
    if (s.pending.length === 0) return;
    const chunks = s.pending;
    s.pending = [];
    s.pendingBytes = 0;
    this.counts.batches++;
    for (const chunk of chunks) {
      this.counts.chunksSent++;
      this.counts.bytesSent += chunk.length;
      this.wire(s.peer, { t: 'data', id: s.id, seq: s.seq++, chunk });
      if (s.failed) return; // the peer cannot be reached
    }
  }

  private end(s: Outgoing): Promise<void> {
    if (s.failed) return Promise.reject(s.failed);
    if (s.ending) return Promise.reject(new StreamError(s.id, 'ended twice'));
    if (s.waiting) return Promise.reject(new StreamError(s.id, 'end while a write waits: await each write'));
    this.flush(s);
    if (s.failed) return Promise.reject(s.failed);
    return new Promise((resolve, reject) => {
      s.ending = { resolve, reject };
      this.wire(s.peer, { t: 'end', id: s.id, seq: s.seq++ });
      this.arm(s);
    });
  }

  /** The idle timer: a stream that makes no progress for idleMs fails rather than hang. */
  private arm(s: Outgoing): void {
    const env = this.node.env;
    if (s.timer !== undefined) env.clearTimer(s.timer);
    s.timer = env.setTimer(() => {
      s.timer = undefined;
      this.fail(s, `no progress for ${s.idleMs} ms`, true);
    }, s.idleMs);
  }

  private fail(s: Outgoing, reason: string, tellPeer: boolean): void {
    if (s.failed || !this.out.has(s.id)) return;
    // Chunks written before an abort reach the receiver before it, as they would unbatched.
    if (tellPeer) this.flush(s);
    if (s.failed) return; // the flush found the peer unreachable
    s.failed = new StreamError(s.id, reason);
    s.pending = [];
    this.closeOut(s);
    if (tellPeer) this.wire(s.peer, { t: 'abort', id: s.id, reason });
    this.node.env.promised?.();
    s.waiting?.reject(s.failed);
    s.ending?.reject(s.failed);
    s.waiting = undefined;
  }

  private closeOut(s: Outgoing): void {
    this.out.delete(s.id);
    if (s.timer !== undefined) this.node.env.clearTimer(s.timer);
    s.timer = undefined;
  }

  /** Control from a peer (or from this node, for a stream between two of its actors). */
  receive(from: string, body: unknown): void {
    if (!isWire(body)) return this.node.deadLetter(new ActorRef(this.node.name, '$stream'), 'malformed', body, `from ${from}`);
    switch (body.t) {
      case 'open':
        return this.opened(from, body);
      case 'data': {
        const s = this.in.get(body.id);
        if (!s || s.peer !== from) return;
        if (body.seq !== s.nextSeq) return this.failIn(s, `chunk ${s.nextSeq} was lost`, true);
        s.nextSeq++;
        s.buffered += body.chunk.length;
        this.counts.bytesReceived += body.chunk.length;
        if (s.buffered > s.window + body.chunk.length) return this.failIn(s, `the sender overran its window of ${s.window} bytes`, true);
        return this.deliver(s, { type: 'stream-data', stream: s.id, chunk: body.chunk }, new StreamCredit(s.id, body.chunk.length));
      }
      case 'end': {
        const s = this.in.get(body.id);
        if (!s || s.peer !== from) return;
        if (body.seq !== s.nextSeq) return this.failIn(s, `chunk ${s.nextSeq} was lost`, true);
        s.ended = true;
        return this.deliver(s, { type: 'stream-end', stream: s.id }, new StreamCredit(s.id, 0));
      }
      case 'wait': {
        const s = this.in.get(body.id);
        if (!s || s.peer !== from) return;
        s.senderWaits = true;
        if (s.buffered === 0) this.grant(s);
        return;
      }
      case 'credit': {
        const s = this.out.get(body.id);
        if (!s || s.peer !== from || body.consumed <= s.consumed) return; // credits are cumulative: a lost one is covered by the next
        s.consumed = body.consumed;
        const w = s.waiting;
        if (w && fits(s, w.chunk.length)) {
          s.waiting = undefined;
          if (s.timer !== undefined) this.node.env.clearTimer(s.timer);
          s.timer = undefined;
          this.node.env.promised?.();
          this.queue(s, w.chunk);
          w.resolve();
        } else if (w || s.ending) this.arm(s);
        return;
      }
      case 'done': {
        const s = this.out.get(body.id);
        if (!s || s.peer !== from || !s.ending) return;
        this.closeOut(s);
        this.node.env.promised?.();
        s.ending.resolve();
        return;
      }
      case 'abort': {
        const o = this.out.get(body.id);
        if (o && o.peer === from) return this.fail(o, body.reason, false);
        const i = this.in.get(body.id);
        if (i && i.peer === from) this.failIn(i, body.reason, false);
        return;
      }
      default: {
        const never: never = body;
        throw new Error(`unknown stream control ${String(never)}`);
      }
    }
  }

  private opened(from: string, m: Extract<Wire, { t: 'open' }>): void {
    const cell = this.node.cellOf(m.to);
    if (!cell) return this.wire(from, { t: 'abort', id: m.id, reason: `no actor ${m.to} on node ${this.node.name}` });
    if (this.in.size >= MAX_STREAMS_PER_NODE) return this.wire(from, { t: 'abort', id: m.id, reason: `node ${this.node.name} has too many streams open` });
    const grantStep = Math.ceil(m.window / WINDOW_STEPS);
    const s: Incoming = { id: m.id, peer: from, cell, window: m.window, nextSeq: 0, buffered: 0, consumed: 0, granted: 0, grantStep, senderWaits: false, ended: false };
    this.in.set(m.id, s);
    this.deliver(s, { type: 'stream-open', stream: m.id, from: m.from, meta: m.meta }, 0);
  }

  private deliver(s: Incoming, event: StreamEvent, meta: StreamCredit | 0): void {
    this.node.deliverStream(s.cell, event, meta);
  }

  /**
   * The receiving actor is done with a chunk (or the end): credit the sender, in steps of a
   * quarter of the window, or, once nothing delivered is left to consume, whatever a sender that
   * waits has not been granted (nothing else would bring it the credit it needs).
   */
  consumed(credit: StreamCredit): void {
    const s = this.in.get(credit.stream);
    if (!s) return;
    s.buffered -= credit.bytes;
    s.consumed += credit.bytes;
    if (s.ended && s.buffered === 0 && credit.bytes === 0) {
      this.in.delete(s.id);
      this.wire(s.peer, { t: 'done', id: s.id });
    } else if (credit.bytes > 0 && (s.consumed - s.granted >= s.grantStep || (s.senderWaits && s.buffered === 0))) this.grant(s);
  }

  private grant(s: Incoming): void {
    if (s.consumed === s.granted) return;
    s.granted = s.consumed;
    // All it sent before it waited is granted: the sender can go (a part might not do).
    if (s.buffered === 0) s.senderWaits = false;
    this.counts.creditsSent++;
    this.wire(s.peer, { t: 'credit', id: s.id, consumed: s.consumed });
  }

  private failIn(s: Incoming, reason: string, tellPeer: boolean): void {
    if (!this.in.delete(s.id)) return;
    if (tellPeer) this.wire(s.peer, { t: 'abort', id: s.id, reason });
    if (s.cell.alive) this.deliver(s, { type: 'stream-error', stream: s.id, reason }, 0);
  }

  /** The receiver gives up on a stream: the sender's writes and end fail with the reason. */
  abortIncoming(cell: ActorCell, id: string, reason: string): void {
    const s = this.in.get(id);
    if (!s || s.cell !== cell) return;
    this.in.delete(id);
    this.wire(s.peer, { t: 'abort', id, reason });
  }

  /** Every stream to or from a dead node ends with an error on this side. */
  nodeDown(node: string): void {
    for (const s of [...this.out.values()]) if (s.peer === node) this.fail(s, `node ${node} is down`, false);
    for (const s of [...this.in.values()]) if (s.peer === node) this.failIn(s, `node ${node} is down`, false);
  }

  /** A stopped actor's streams end with an error on the other side. */
  actorStopped(cell: ActorCell): void {
    for (const s of [...this.out.values()]) if (s.owner === cell) this.fail(s, `sender ${cell.ref} stopped`, true);
    for (const s of [...this.in.values()]) if (s.cell === cell) this.failIn(s, `receiver ${cell.ref} stopped`, true);
  }

  private wire(peer: string, body: Wire): void {
    if (peer === this.node.name) {
      this.receive(peer, body);
      return;
    }
    const why = this.node.sendSystem(peer, '$stream', body);
    if (why === undefined) return;
    // The peer cannot be reached: this side's end of the stream fails now.
    const o = this.out.get(body.id);
    if (o) this.fail(o, `cannot reach node ${peer}: ${why}`, false);
    const i = this.in.get(body.id);
    if (i) this.failIn(i, `cannot reach node ${peer}: ${why}`, false);
  }
}

/** Whether a chunk may go now: it fits the window, or it is larger than the window and goes alone. */
function fits(s: Outgoing, bytes: number): boolean {
  return s.sent - s.consumed + bytes <= s.window || s.sent === s.consumed;
}

function isWire(m: unknown): m is Wire {
  if (typeof m !== 'object' || m === null) return false;
  const w = m as Record<string, unknown>;
  if (typeof w.id !== 'string') return false;
  switch (w.t) {
    case 'open':
      return typeof w.to === 'string' && w.from instanceof ActorRef && Number.isSafeInteger(w.window) && (w.window as number) > 0;
    case 'data':
      return typeof w.seq === 'number' && w.chunk instanceof Uint8Array;
    case 'end':
      return typeof w.seq === 'number';
    case 'credit':
      return typeof w.consumed === 'number';
    case 'done':
    case 'wait':
      return true;
    case 'abort':
      return typeof w.reason === 'string';
    default:
      return false;
  }
}
