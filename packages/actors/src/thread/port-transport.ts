import type { MessagePort } from 'node:worker_threads';
import { decodeTransferred, EncodedBody, TransferEncoder, type Transferable } from '../codec.ts';
import type { DeadLetterReason } from '../errors.ts';
import type { ActorNode } from '../node.ts';
import type { Transport } from '../node-host.ts';

/** Upper bound on the bytes of one batch we aim for; batches of big messages get fewer messages. */
const TARGET_BATCH_BYTES = 1 << 20;
const MAX_BATCH_MESSAGES = 1024;
/**
 * In an envelope's correlation slot: a run, the bodies (an array) of consecutive tells to one
 * actor. A run spares the receiver's target and correlation id per message, which were two of
 * the three values encoded and decoded per tell.
 */
const RUN = true;

/**
 * Messages between threads: one MessagePort per pair of nodes (a full mesh, so worker-to-worker
 * traffic never relays through main). Messages to a peer are batched for the rest of the current
 * synchronous run (flushed in a microtask) or until the batch is full, packed with msgpackr into
 * one buffer, and that buffer is transferred, not cloned. A batch holding an urgent message goes
 * when its sender's run ends (flushUrgent), not with the rest of the node's turn. FIFO per pair
 * follows from one ordered port per pair and in-order batches. A batch is a flat array of
 * envelopes, `to, body, corr` each (see Transport), or `to, bodies, RUN` for a run of tells to
 * one actor.
 */
export class PortTransport implements Transport {
  private readonly links = new Map<string, PortLink>();
  /** Links an urgent message was queued for since the last flush (each at most once: bounded by the peers). */
  private urgent: PortLink[] = [];
  /** Bodies encoded to leave this node: one per message sent, one per body shared by several. */
  encodedBodies = 0;

  constructor(
    private readonly node: ActorNode,
    private readonly maxMessageBytes: number,
  ) {}

  connect(peer: string, port: MessagePort): void {
    this.links.get(peer)?.close();
    const link = new PortLink(peer, port, this.node, this.maxMessageBytes);
    this.links.set(peer, link);
    port.on('message', (data: unknown) => this.receive(peer, data));
  }

  disconnect(peer: string): void {
    this.links.get(peer)?.close();
    this.links.delete(peer);
  }

  send(node: string, to: string, body: unknown, corr: number, urgent = false): DeadLetterReason | undefined {
    const link = this.links.get(node);
    if (!link) return 'unknown-node';
    if (!(body instanceof EncodedBody)) this.encodedBodies++;
    if (urgent && !link.urgent) {
      link.urgent = true;
      this.urgent.push(link);
    }
    link.push(to, body, corr);
    return undefined;
  }

  shareEncoding(body: unknown): EncodedBody {
    this.encodedBodies++;
    return new EncodedBody(body);
  }

  flushUrgent(): void {
    if (this.urgent.length === 0) return;
    for (const link of this.urgent) link.flush();
    this.forgetUrgent();
  }

  flush(): void {
    for (const link of this.links.values()) link.flush();
    this.forgetUrgent();
  }

  private forgetUrgent(): void {
    for (const link of this.urgent) link.urgent = false;
    this.urgent = [];
  }

  peers(): string[] {
    return [...this.links.keys()];
  }

  private receive(peer: string, data: unknown): void {
    let items: unknown;
    try {
      // A batch alone, or [batch, binaries] when large binaries came out of band beside it.
      if (data instanceof Uint8Array) items = decodeTransferred(data, []);
      else if (Array.isArray(data) && data[0] instanceof Uint8Array && Array.isArray(data[1])) items = decodeTransferred(data[0], data[1] as ArrayBuffer[]);
    } catch {
      items = undefined;
    }
    if (!Array.isArray(items) || items.length % 3 !== 0) {
      this.node.malformedFrame(peer, 'undecodable batch');
      return;
    }
    this.node.batchArriving();
    try {
      for (let i = 0; i < items.length; i += 3) {
        const to: unknown = items[i];
        const body: unknown = items[i + 1];
        const corr: unknown = items[i + 2];
        if (typeof to !== 'string') this.node.malformedFrame(peer, 'bad envelope');
        else if (typeof corr === 'number') this.node.receiveRemote(peer, to, body, corr);
        else if (corr === RUN && Array.isArray(body)) for (const b of body) this.node.receiveRemote(peer, to, b, 0);
        else this.node.malformedFrame(peer, 'bad envelope');
      }
    } finally {
      this.node.drain();
    }
  }

  close(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }
}

class PortLink {
  private batch: unknown[] = [];
  /** Messages in the batch (a run holds several). */
  private messages = 0;
  private flushScheduled = false;
  /** Whether PortTransport lists this link to flush when the sender's run ends. */
  urgent = false;
  private maxMessages = 256;
  private readonly encoder = new TransferEncoder();
  private readonly flushFn = (): void => this.flush();
  private closed = false;

  constructor(
    readonly peer: string,
    private readonly port: MessagePort,
    private readonly node: ActorNode,
    private readonly maxMessageBytes: number,
  ) {}

  push(to: string, body: unknown, corr: number): void {
    append(this.batch, to, body, corr);
    if (++this.messages >= this.maxMessages) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushFn);
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0 || this.closed) return;
    const items = this.batch;
    const messages = this.messages;
    this.batch = [];
    this.messages = 0;
    this.postItems(items, messages);
  }

  /** Encodes and posts; a batch over the size limit is split until the oversize messages stand alone. */
  private postItems(items: unknown[], messages: number): void {
    let out: Transferable | undefined;
    try {
      out = this.encoder.encode(items);
    } catch (err) {
      if (messages === 1) return this.refuse(items, 'not-serializable', String(err));
    }
    if (out === undefined || out.totalBytes > this.maxMessageBytes) {
      if (messages === 1) return this.refuse(items, 'oversize', `${out?.totalBytes} bytes > ${this.maxMessageBytes}`);
      const single = envelopes(items);
      const half = Math.floor(messages / 2) * 3;
      this.postItems(inRuns(single.slice(0, half)), half / 3);
      this.postItems(inRuns(single.slice(half)), messages - half / 3);
      return;
    }
    const avg = out.totalBytes / messages;
    this.maxMessages = Math.max(1, Math.min(MAX_BATCH_MESSAGES, Math.floor(TARGET_BATCH_BYTES / avg)));
    const { bytes, binaries } = out;
    if (binaries.length === 0) this.port.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
    else this.port.postMessage([bytes, binaries], [bytes.buffer as ArrayBuffer, ...binaries]);
  }

  private refuse(items: unknown[], reason: DeadLetterReason, detail: string): void {
    const body = items[1] instanceof EncodedBody ? items[1].body : items[1];
    this.node.unsendable(this.peer, items[0] as string, body, items[2] as number, reason, detail);
  }

  close(): void {
    this.closed = true;
    this.port.close();
  }
}

/** A batch with its runs taken apart: one envelope per message. */
function envelopes(items: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i += 3) {
    if (items[i + 2] !== RUN) out.push(items[i], items[i + 1], items[i + 2]);
    else for (const body of items[i + 1] as unknown[]) out.push(items[i], body, 0);
  }
  return out;
}

/** One envelope per message made into a batch with runs. */
function inRuns(single: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < single.length; i += 3) append(out, single[i] as string, single[i + 1], single[i + 2] as number);
  return out;
}

/** Adds a message to a batch: a tell to the actor the batch's last envelope is a tell to joins it in a run. */
function append(batch: unknown[], to: string, body: unknown, corr: number): void {
  const last = batch.length - 3;
  if (corr !== 0 || last < 0 || batch[last] !== to) batch.push(to, body, corr);
  else if (batch[last + 2] === RUN) (batch[last + 1] as unknown[]).push(body);
  else if (batch[last + 2] === 0) {
    batch[last + 1] = [batch[last + 1], body];
    batch[last + 2] = RUN;
  } else batch.push(to, body, corr);
}
