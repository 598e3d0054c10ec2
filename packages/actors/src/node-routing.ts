import { replyHandleOf, type ActorCell, type Meta } from './cell.ts';
import { checkMs } from './checks.ts';
import type { ReplyHandle } from './context.ts';
import { DeadLetters, messageTypeOf } from './dead-letters.ts';
import { errorBody } from './error-replies.ts';
import { DeliveryError, type DeadLetterReason } from './errors.ts';
import type { LogSink } from './log.ts';
import { checkEnvelope, checkMessage, checkValue } from './message-shape.ts';
import type { NodeEnv, NodeOptions, Transport } from './node-host.ts';
import { firstCorrOf, PendingAsks } from './pending-asks.ts';
import { ActorRef, refKey, type AnyRef } from './ref.ts';
import { StoppedNames } from './stopped-names.ts';
import type { NodeStreams } from './streams.ts';

/**
 * How a node routes messages: tells and asks to its own actors' mailboxes or through its
 * transport to other nodes, replies, what arrives from other nodes, and dead letters with a fast
 * error for an asker. ActorNode adds the actors' lives, the scheduler and storage on top.
 */
export abstract class MessageRouting {
  readonly name: string;
  readonly env: NodeEnv;
  readonly seed: number;
  readonly logSink: LogSink;
  readonly deadLetters = new DeadLetters();
  transport: Transport = { send: () => 'unknown-node' };

  protected readonly cells = new Map<string, ActorCell>();
  protected readonly asks: PendingAsks;
  protected readonly downNodes = new Set<string>();
  protected readonly stoppedNames = new StoppedNames();
  protected nextId = 1;
  protected counters = { in: 0, out: 0, processed: 0 };
  protected closed = false;
  private readonly defaultAskTimeoutMs: number;
  private readonly checkSameThreadMessages: boolean;

  constructor(opts: NodeOptions) {
    this.name = opts.name;
    this.env = opts.env;
    this.seed = opts.seed;
    this.logSink = opts.logSink;
    this.defaultAskTimeoutMs = opts.defaultAskTimeoutMs ?? 5_000;
    this.checkSameThreadMessages = opts.checkSameThreadMessages ?? true;
    this.asks = new PendingAsks(this.env, firstCorrOf(this.seed));
  }

  /** Puts a cell that just got a message into the ready queue. */
  protected abstract schedule(cell: ActorCell): void;
  /** Node-to-node housekeeping of watches arrived. */
  protected abstract watchMessage(from: string, body: unknown): void;
  abstract streams(): NodeStreams;

  /**
   * Throws UnsendableError (naming the path inside msg) for what no path could carry faithfully;
   * on this node's own thread only for a missing `type`, unless checkSameThreadMessages is set.
   */
  tell(ref: AnyRef, msg: unknown, urgent = false): void {
    if (ref.node !== this.name) {
      checkMessage(msg);
      this.sendRemote(ref, msg, 0, msg, urgent);
      return;
    }
    if (this.checkSameThreadMessages) checkMessage(msg);
    else checkEnvelope(msg);
    this.deliverLocal(ref.id, msg, 0);
  }

  /**
   * tell to each ref, with the message checked once and, where the transport encodes, encoded
   * once for all the refs on other nodes (a Paxos leader's Accept to its acceptors).
   */
  tellMany(refs: readonly AnyRef[], msg: unknown, urgent = false): void {
    checkMessage(msg);
    let remote = 0;
    for (const ref of refs) if (ref.node !== this.name) remote++;
    const body = remote > 1 && this.transport.shareEncoding ? this.transport.shareEncoding(msg) : msg;
    for (const ref of refs) {
      if (ref.node === this.name) this.deliverLocal(ref.id, msg, 0);
      else this.sendRemote(ref, msg, 0, body, urgent);
    }
  }

  ask(ref: AnyRef, msg: unknown, timeoutMs = this.defaultAskTimeoutMs): Promise<unknown> {
    return new Promise((resolve, reject) => {
      checkMessage(msg); // a throw here rejects the ask
      checkMs(`ask ${messageTypeOf(msg) ?? typeof msg} to ${refKey(ref)}: timeoutMs`, timeoutMs, true);
      if (this.closed) throw new DeliveryError(refKey(ref), 'node-down', `node ${this.name} has shut down`);
      const corr = this.asks.open(ref.node, refKey(ref), msg, timeoutMs, resolve, reject);
      if (ref.node === this.name) this.deliverLocal(ref.id, msg, { node: this.name, corr });
      else this.sendRemote(ref, msg, corr);
    });
  }

  replyTo(h: ReplyHandle, value: unknown, isError: boolean): void {
    if (!isError) checkValue(value, 'reply');
    const body = isError ? errorBody(value) : value;
    if (h.node === this.name) this.asks.settle(h.corr, isError, body);
    else {
      const why = this.transport.send(h.node, isError ? '!' : '', body, -h.corr);
      if (why) this.deadLetter(new ActorRef(h.node, '$reply'), why, body);
      else this.counters.out++;
    }
  }

  /** body is what the transport carries: msg itself, or its shared encoding. */
  protected sendRemote(ref: AnyRef, msg: unknown, corr: number, body: unknown = msg, urgent = false): void {
    const why = this.downNodes.has(ref.node) ? 'node-down' : this.transport.send(ref.node, ref.id, body, corr, urgent);
    if (why) this.refuse(ref, why, msg, corr > 0 ? { node: this.name, corr } : 0);
    else this.counters.out++;
  }

  /** The hot path of every local message. */
  deliverLocal(id: string, msg: unknown, meta: Meta): void {
    const cell = this.cells.get(id);
    if (cell === undefined) return this.refuse(new ActorRef(this.name, id), this.stoppedNames.has(id, this.nextId) ? 'stopped' : 'no-such-actor', msg, meta);
    if (cell.mailbox.length >= cell.capacity) return this.refuse(cell.ref, 'mailbox-full', msg, meta);
    cell.mailbox.push(msg, meta);
    this.counters.in++;
    if (!cell.scheduled && !cell.busy && cell.receive !== undefined) this.schedule(cell);
  }

  /** A message from another node (already decoded by the transport). */
  receiveRemote(from: string, to: string, body: unknown, corr: number): void {
    if (corr < 0) return this.asks.settle(-corr, to === '!', body);
    if (to === '$sys') return this.watchMessage(from, body);
    if (to === '$stream') return this.streams().receive(from, body);
    const meta: Meta = corr > 0 ? { node: from, corr } : 0;
    if (typeof body !== 'object' || body === null || typeof (body as { type?: unknown }).type !== 'string') {
      return this.refuse(new ActorRef(this.name, to), 'malformed', body, meta, 'a message is an object with a string type');
    }
    this.deliverLocal(to, body, meta);
  }

  /** Records a dead letter; an ask gets a fast error reply instead of waiting for its timeout. */
  protected refuse(target: AnyRef, reason: DeadLetterReason, msg: unknown, meta: Meta, detail?: string): void {
    this.deadLetter(target, reason, msg, detail);
    const asker = replyHandleOf(meta);
    if (asker) this.replyTo(asker, new DeliveryError(refKey(target), reason, detail), true);
  }

  /** The transport could not send a message it had accepted (too large, not serializable). */
  unsendable(peer: string, to: string, body: unknown, corr: number, reason: DeadLetterReason, detail: string): void {
    const target = new ActorRef(peer, corr < 0 ? '$reply' : to);
    this.deadLetter(target, reason, body, detail);
    const err = errorBody(new DeliveryError(refKey(target), reason, detail));
    if (corr > 0) this.asks.settle(corr, true, err);
    else if (corr < 0) this.transport.send(peer, '!', err, corr); // the asker learns now, not at its timeout
  }

  /** Bytes from a peer that are not a batch of envelopes. */
  malformedFrame(peer: string, detail: string): void {
    this.deadLetter(new ActorRef(this.name, '$transport'), 'malformed', undefined, `from ${peer}: ${detail}`);
  }

  deadLetter(target: AnyRef, reason: DeadLetterReason, msg: unknown, detail?: string): void {
    const messageType = messageTypeOf(msg);
    this.deadLetters.record({
      target: refKey(target),
      reason,
      time: this.env.now(),
      ...(messageType === undefined ? {} : { messageType }),
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** Node-to-node housekeeping on a system endpoint; returns why it cannot be sent. */
  sendSystem(peer: string, endpoint: string, body: unknown): DeadLetterReason | undefined {
    return this.downNodes.has(peer) ? 'node-down' : this.transport.send(peer, endpoint, body, 0);
  }
}
