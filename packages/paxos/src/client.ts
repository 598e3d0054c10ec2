import { afterTurn, backoffWaitMs, type ActorRef, type BackoffTiming, type Random } from '@actorfs/actors';
import { compareBallots, type Ballot } from './ballot.ts';
import { PaxosDomainError, PaxosNoEffectError, PaxosOutcomeUnknownError, PaxosRefusedError, PaxosUnavailableError, type RetryHandle } from './client-errors.ts';
import { timing } from './config.ts';
import type { BatchBounds, Command, ProposeReply, ProposerMsg, ProposerStatus } from './messages.ts';
import { approxBytes, piecesWithin } from './size.ts';
import type { AnyMachineDef, MachineDef, OpOf, QueryOf, QueryResultOf, ResultOf } from './state-machine.ts';

export { PaxosDomainError, PaxosNoEffectError, PaxosOutcomeUnknownError, PaxosRefusedError, PaxosUnavailableError, type RetryHandle } from './client-errors.ts';

/**
 * How the client reaches a proposer: system.ask, ctx.ask or sim.ask, wrapped (it answers a status
 * ask with the status, a propose-batch with an array of replies).
 */
export type Asker = (ref: ActorRef<ProposerMsg>, msg: ProposerMsg, timeoutMs: number) => Promise<ProposeReply | ProposeReply[]>;

export interface PaxosClientOptions<M extends AnyMachineDef = MachineDef> {
  /** A label for this client: its sessions' ids start with it (for logs). */
  clientId: string;
  /** The machine the group runs: types propose and read (only its type is used). */
  machine?: M;
  proposers: ActorRef<ProposerMsg>[];
  ask: Asker;
  /** Waits between attempts (ctx.sleep inside an actor, a timer outside). */
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1) (ctx.random inside an actor): given, each backoff is drawn between half of its step and all of it. Default: no jitter. */
  random?: Random;
  /** Per attempt. Default 1000. */
  timeoutMs?: number;
  /** Default 30. */
  maxAttempts?: number;
  /** First backoff after an attempt that found no leader; it doubles each time. Default 20. */
  backoffMs?: number;
  /**
   * The most one backoff grows to. Default 1000: with the other defaults the client keeps trying
   * for about 25 s, long enough to ride out a leader change (a lease term plus an election).
   */
  maxBackoffMs?: number;
  /** Commands in flight at once; at most the group's sessionWindow. Default 64. */
  window?: number;
  /** Calls waiting for room in the window at most; one more throws at once. Default 10,000. */
  maxWaiting?: number;
  /**
   * Given, the proposes (and retries) made within one turn go to each proposer as one
   * propose-batch message, answered in one reply, split at these bounds; without, one ask each.
   * Bounds left out are PaxosTiming's defaults (maxBatch, maxBatchBytes). A batch over the group's
   * own bounds is refused with them: the client sends the refused commands again within them (they
   * were never queued) and keeps the lower bounds for `batchRetryAfter` batches.
   */
  batch?: Partial<BatchBounds>;
  /**
   * Batches sent within bounds a refusal lowered, after which the client tries its own `batch`
   * bounds again (the group's may have been raised since); a group that still has the lower ones
   * refuses one batch, again without applying any of it. Default 1,000.
   */
  batchRetryAfter?: number;
  /**
   * Carries on where an earlier client (of this id, restarted, say) stood: its `position`. Seqs
   * from ack+1 below nextSeq stay open for `retry`, so their outcomes can still be learned.
   */
  resume?: ClientPosition;
}

/** Where a client stands in its session: the group applies each seq of it once. */
export interface ClientPosition {
  session: string;
  /** Every seq up to here is settled: the group may have forgotten their outcomes. */
  ack: number;
  /** The seq the next new command gets. */
  nextSeq: number;
}

/** Who leads the group now, by the proposers' own account. */
export interface LeaderInfo {
  ref: ActorRef<ProposerMsg>;
  ballot: Ballot;
}

/**
 * The client API: `propose(op)` resolves with the result of applying op, exactly once however
 * often it is retried; `read(query)` is a linearizable read served under the leader's lease.
 * Commands run in a session the client opens on first use; up to `window` of them are in flight
 * at once (further calls wait their turn), each retried with its own seq until answered. Every
 * command carries the client's low-water mark, so the group forgets the outcomes it no longer needs.
 * It follows leader hints, tries the next proposer on timeouts, and backs off when no one leads.
 *
 * A call that fails says what the command came to: PaxosDomainError (applied, as that error),
 * PaxosNoEffectError (never applied) or PaxosOutcomeUnknownError (maybe applied: `retry(err.retry)`
 * learns which). A seq whose outcome is unknown stays open (unacknowledged) for retries until it is
 * retried to an answer, or until the window needs its room: then the oldest is released.
 */
export class PaxosClient<M extends AnyMachineDef = MachineDef> {
  private opening: Promise<string> | undefined;
  private sessionId: string | undefined;
  /** The newest seq handed out. */
  private seq = 0;
  /** Every seq up to here is settled (answered or given up): never sent again. */
  private ack = 0;
  /** Settled seqs above ack. */
  private readonly settled = new Set<number>();
  /** Seqs whose outcome is unknown, kept open for retry. */
  private readonly open = new Set<number>();
  private readonly waiting: Array<(seq: number) => void> = [];
  private hint: ActorRef<ProposerMsg> | undefined;
  private next = 0;
  private readonly window: number;
  /** With `batch`: the bounds a propose-batch stays within (lowered to the group's when it says so). */
  private bounds: BatchBounds | undefined;
  /** With `batch`: the bounds it gave, and the batches still to send within lowered ones before trying them again. */
  private configured: { bounds: BatchBounds; retryAfter: number; left: number } | undefined;
  /** Commands to send at the end of this turn, per proposer (with `batch`). */
  private readonly turn = new Map<string, { target: ActorRef<ProposerMsg>; sends: TurnSend[] }>();

  constructor(private readonly opts: PaxosClientOptions<M>) {
    if (opts.proposers.length === 0) throw new RangeError(`client ${opts.clientId}: proposers is empty; give it the group's proposers (plan.proposers)`);
    this.window = opts.window ?? 64;
    if (opts.batch) {
      const defaults = timing();
      const b = { maxCommands: opts.batch.maxCommands ?? defaults.maxBatch, maxBytes: opts.batch.maxBytes ?? defaults.maxBatchBytes };
      if (!sendable(b)) throw new RangeError(`client ${opts.clientId}: batch needs maxCommands >= 1 and maxBytes > 0 (at most the group's maxBatch and maxBatchBytes), got ${b.maxCommands} and ${b.maxBytes}`);
      const retryAfter = opts.batchRetryAfter ?? DEFAULT_BATCH_RETRY_AFTER;
      if (!(Number.isSafeInteger(retryAfter) && retryAfter >= 1)) throw new RangeError(`client ${opts.clientId}: batchRetryAfter must be a whole number >= 1, got ${retryAfter}`);
      this.bounds = b;
      this.configured = { bounds: b, retryAfter, left: 0 };
    }
    const r = opts.resume;
    if (r) {
      if (!(Number.isSafeInteger(r.ack) && Number.isSafeInteger(r.nextSeq) && r.ack >= 0 && r.nextSeq > r.ack && r.nextSeq - 1 - r.ack <= this.window)) {
        throw new RangeError(`client ${opts.clientId}: resume needs 0 <= ack < nextSeq <= ack + 1 + window (${this.window}), got ack ${r.ack}, nextSeq ${r.nextSeq}`);
      }
      this.sessionId = r.session;
      this.opening = Promise.resolve(r.session);
      this.ack = r.ack;
      this.seq = r.nextSeq - 1;
      for (let seq = r.ack + 1; seq <= this.seq; seq++) this.open.add(seq);
    }
  }

  get clientId(): string {
    return this.opts.clientId;
  }

  /** The seq the next command will get. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  /** The session's id, once opened (undefined before the first command, or after it was lost). */
  get session(): string | undefined {
    return this.sessionId;
  }

  /** Where this client stands, to give a restarted one as `resume` (undefined without a session). */
  get position(): ClientPosition | undefined {
    return this.sessionId === undefined ? undefined : { session: this.sessionId, ack: this.ack, nextSeq: this.nextSeq };
  }

  propose(op: OpOf<M>): Promise<ResultOf<M>> {
    // The common case, without waiting a turn for the open session or the window: both are there.
    const session = this.sessionId;
    if (session !== undefined && this.waiting.length === 0 && this.seq - this.ack < this.window) return this.run({ session, seq: ++this.seq, op }, false);
    return this.proposeOnceReady(op);
  }

  private async proposeOnceReady(op: OpOf<M>): Promise<ResultOf<M>> {
    let session: string;
    try {
      session = await this.openSession();
    } catch (err) {
      // The op itself was never sent, whatever became of the open.
      throw new PaxosNoEffectError(`client ${this.opts.clientId}: no session to propose in: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const seq = await this.takeSeq();
    return this.run({ session, seq, op }, false);
  }

  /**
   * Sends a command whose outcome was unknown again, with its own (session, seq), and resolves with
   * the outcome it had (or has now, if no copy was ever applied). May fail as propose does, again
   * with a handle to retry while the outcome is still to be learned.
   */
  async retry(handle: RetryHandle<OpOf<M>>): Promise<ResultOf<M>> {
    if (handle.session !== this.sessionId || !this.open.delete(handle.seq)) {
      const why = handle.session !== this.sessionId ? `session ${handle.session} is not this client's (${this.sessionId ?? 'none'})` : `seq ${handle.seq} is not open for retry (answered, or released for room in the window)`;
      throw new PaxosOutcomeUnknownError(`client ${this.opts.clientId}: cannot retry: ${why}`);
    }
    return this.run(handle, true);
  }

  async read(query: QueryOf<M>): Promise<QueryResultOf<M>> {
    return (await this.attempt(() => ({ type: 'read', query }))) as QueryResultOf<M>;
  }

  /** Closes the session (the group forgets it); the next propose opens a new one. */
  async close(): Promise<void> {
    const session = this.opening;
    this.forgetSession();
    if (session) await this.command({ type: 'close', session: await session });
  }

  /**
   * Who leads now: asks every proposer for its status and answers the one that holds a valid lease
   * with the highest ballot (the hint for the next command), or undefined if none says so.
   */
  async leader(): Promise<LeaderInfo | undefined> {
    const { proposers, ask, timeoutMs = 1000 } = this.opts;
    const statuses = await Promise.allSettled(proposers.map((p) => ask(p, { type: 'status' }, timeoutMs) as Promise<unknown> as Promise<ProposerStatus>));
    let best: LeaderInfo | undefined;
    statuses.forEach((s, i) => {
      if (s.status !== 'fulfilled' || s.value.role !== 'leader' || !s.value.leaseValid) return;
      if (!best || compareBallots(s.value.ballot, best.ballot) > 0) best = { ref: proposers[i]!, ballot: s.value.ballot };
    });
    if (best) this.hint = best.ref;
    return best;
  }

  private async run(cmd: RetryHandle<OpOf<M>>, retried: boolean): Promise<ResultOf<M>> {
    const { session, seq, op } = cmd;
    try {
      const result = await this.attempt(() => ({ type: 'propose', cmd: { type: 'op', session, seq, ack: this.ack, op } }), { retried, handle: cmd });
      this.settle(seq);
      return result as ResultOf<M>;
    } catch (err) {
      if (err instanceof PaxosOutcomeUnknownError && err.retry) this.open.add(seq);
      else this.settle(seq);
      if (err instanceof PaxosRefusedError || err instanceof PaxosOutcomeUnknownError) {
        if (err.code === 'session' && session === this.sessionId) this.forgetSession();
      }
      throw err;
    }
  }

  private openSession(): Promise<string> {
    if (!this.opening) {
      const opening = this.command({ type: 'open', client: this.opts.clientId }).then((id) => id as string);
      opening.then(
        (id) => {
          if (this.opening === opening) this.sessionId = id;
        },
        () => {
          if (this.opening === opening) this.opening = undefined;
        },
      );
      this.opening = opening;
    }
    return this.opening;
  }

  /** A new session's seqs start again at 1: whatever was open in the old one cannot be learned now. */
  private forgetSession(): void {
    this.opening = undefined;
    this.sessionId = undefined;
    for (const seq of this.open) this.settle(seq);
    this.open.clear();
  }

  private command(cmd: Command): Promise<unknown> {
    return this.attempt(() => ({ type: 'propose', cmd }));
  }

  /** A seq for a new command, once the window has room for it (callers wait in turn). */
  private takeSeq(): Promise<number> {
    if (this.waiting.length >= (this.opts.maxWaiting ?? 10_000)) {
      throw new PaxosNoEffectError(`client ${this.opts.clientId}: ${this.waiting.length} calls already wait for the window`);
    }
    const seq = new Promise<number>((resolve) => this.waiting.push(resolve));
    this.advance();
    return seq;
  }

  private settle(seq: number): void {
    this.settled.add(seq);
    this.advance();
  }

  private advance(): void {
    for (;;) {
      while (this.settled.delete(this.ack + 1)) this.ack++;
      // A waiter's seq is taken as it is woken, so a new caller cannot slip in ahead of it.
      while (this.waiting.length > 0 && this.seq - this.ack < this.window) this.waiting.shift()!(++this.seq);
      // Room is wanted and the oldest seq is one kept open for retry: release it (its outcome stays unknown).
      if (this.waiting.length === 0 || !this.open.delete(this.ack + 1)) return;
      this.settled.add(this.ack + 1);
    }
  }

  /**
   * Sends the message made by `msg` (fresh per attempt: it carries the current ack) until answered.
   * `retried`: an earlier call may have sent this command already. `handle`: what an unknown outcome carries.
   */
  private async attempt(msg: () => ProposerMsg, sent: { retried: boolean; handle?: RetryHandle } = { retried: false }): Promise<unknown> {
    const { proposers, sleep, random = noJitter, timeoutMs = 1000, maxAttempts = 30, backoffMs = 20, maxBackoffMs = 1000 } = this.opts;
    const backoff: BackoffTiming = { firstMs: backoffMs, capMs: maxBackoffMs, jitter: random === noJitter ? 0 : 0.5 };
    let failures = 0;
    let lastReason = 'no attempt';
    // Whether a copy of the command may be in the group: then a failure leaves its outcome unknown.
    let maybeSent = sent.retried;
    // Proposers that failed this operation: a hint naming one (a dead leader, say) is not followed.
    let failed: Set<string> | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const target = this.hint ?? proposers[this.next % proposers.length]!;
      let reply: ProposeReply;
      try {
        reply = await this.send(target, msg(), timeoutMs);
      } catch (err) {
        // The command may have arrived and been proposed; only its answer is missing.
        maybeSent = true;
        lastReason = err instanceof Error ? err.message : String(err);
        (failed ??= new Set()).add(target.toString());
        this.forget();
        await sleep(backoffWaitMs(backoff, failures++, random));
        continue;
      }
      if (reply.ok) {
        this.hint = target;
        return reply.result;
      }
      if ('error' in reply) throw new PaxosDomainError(reply.error);
      if ('refused' in reply) {
        // An earlier copy may have been applied before its session went or its seq was acknowledged.
        if (maybeSent && (reply.refused === 'session' || reply.refused === 'stale')) throw new PaxosOutcomeUnknownError(reply.reason, undefined, reply.refused);
        throw new PaxosRefusedError(reply.reason, reply.refused);
      }
      if (reply.maybeProposed) maybeSent = true;
      lastReason = reply.reason;
      if (reply.leader && !reply.leader.equals(target) && !failed?.has(reply.leader.toString())) {
        this.hint = reply.leader;
        continue;
      }
      this.forget();
      await sleep(backoffWaitMs(backoff, failures++, random));
    }
    const message = `no answer after ${maxAttempts} attempts: ${lastReason}`;
    if (maybeSent) throw new PaxosUnavailableError(message, sent.handle);
    throw new PaxosNoEffectError(`${message} (never proposed)`);
  }

  /** One message's reply: a propose waits for the turn's batch, when batching. */
  private send(target: ActorRef<ProposerMsg>, msg: ProposerMsg, timeoutMs: number): Promise<ProposeReply> {
    if (!this.bounds || msg.type !== 'propose') return this.opts.ask(target, msg, timeoutMs).then((r) => oneReply(r, msg));
    return new Promise((resolve, reject) => {
      const key = target.toString();
      let pending = this.turn.get(key);
      if (!pending) this.turn.set(key, (pending = { target, sends: [] }));
      // One job a turn, no timer.
      if (this.turn.size === 1 && pending.sends.length === 0) afterTurn(() => this.sendTurn(timeoutMs));
      pending.sends.push({ cmd: msg.cmd, resolve, reject });
    });
  }

  /** The turn's proposes, to each proposer. */
  private sendTurn(timeoutMs: number): void {
    const turn = [...this.turn.values()]; // empty if sent already
    this.turn.clear();
    for (const { target, sends } of turn) this.sendWithin(target, sends, timeoutMs);
  }

  /** Proposes to target in batches within the bounds (a batch of one as a plain propose). */
  private sendWithin(target: ActorRef<ProposerMsg>, sends: TurnSend[], timeoutMs: number): void {
    const bounds = this.bounds!;
    for (const piece of piecesWithin(sends, bounds.maxBytes, (s) => approxBytes(s.cmd))) {
      for (let i = 0; i < piece.length; i += bounds.maxCommands) {
        const part = piece.slice(i, i + bounds.maxCommands);
        const msg: ProposerMsg = part.length === 1 ? { type: 'propose', cmd: part[0]!.cmd } : { type: 'propose-batch', cmds: part.map((s) => s.cmd) };
        this.sentWithinLowered();
        this.opts.ask(target, msg, timeoutMs).then(
          (reply) => this.batchAnswered(target, part, reply, bounds, timeoutMs),
          (err: unknown) => part.forEach((s) => s.reject(err)),
        );
      }
    }
  }

  /**
   * Each command its reply; but commands refused only as over the group's bounds go again within
   * them, if those are below the bounds the batch was sent within (so this ends).
   */
  private batchAnswered(target: ActorRef<ProposerMsg>, part: TurnSend[], reply: ProposeReply | ProposeReply[], sentWithin: BatchBounds, timeoutMs: number): void {
    const replies = Array.isArray(reply) ? reply : [reply];
    if (replies.length !== part.length) return part.forEach((s) => s.reject(new Error(`${target.toString()} answered ${replies.length} replies to ${part.length} commands`)));
    const group = replies.map(groupBounds).find((b) => b !== undefined);
    const lower = group !== undefined && (group.maxCommands < sentWithin.maxCommands || group.maxBytes < sentWithin.maxBytes);
    if (lower) this.lowerBounds(group);
    const again = part.filter((s, j) => {
      const resend = lower && groupBounds(replies[j]!) !== undefined;
      if (!resend) s.resolve(replies[j]!);
      return resend;
    });
    if (again.length > 0) this.sendWithin(target, again, timeoutMs);
  }

  /** One more batch sent within lowered bounds: after enough, the next turn tries the configured ones again. */
  private sentWithinLowered(): void {
    const c = this.configured!;
    if (c.left > 0 && --c.left === 0) this.bounds = c.bounds;
  }

  private lowerBounds(group: BatchBounds): void {
    this.bounds = { maxCommands: Math.min(this.bounds!.maxCommands, group.maxCommands), maxBytes: Math.min(this.bounds!.maxBytes, group.maxBytes) };
    this.configured!.left = this.configured!.retryAfter;
  }

  private forget(): void {
    this.hint = undefined;
    this.next++;
  }
}

/** A propose waiting for its turn's batch to be sent and answered. */
interface TurnSend {
  cmd: Command;
  resolve: (reply: ProposeReply) => void;
  reject: (err: unknown) => void;
}

/** The reply to one message (an array answers only a propose-batch). */
function oneReply(reply: ProposeReply | ProposeReply[], msg: ProposerMsg): ProposeReply {
  if (Array.isArray(reply)) throw new Error(`a ${msg.type} was answered with ${reply.length} replies`);
  return reply;
}

/** Bounds a batch can be sent within: at least one command, and some bytes. */
function sendable(b: BatchBounds): boolean {
  return Number.isSafeInteger(b.maxCommands) && b.maxCommands >= 1 && b.maxBytes > 0;
}

/** The group's bounds a reply refuses its command's propose-batch for being over (if sendable). */
function groupBounds(reply: ProposeReply): BatchBounds | undefined {
  const b = !reply.ok && 'batchBounds' in reply ? reply.batchBounds : undefined;
  return b && sendable(b) ? b : undefined;
}

const DEFAULT_BATCH_RETRY_AFTER = 1_000;

/** Stands for `random` when none is given: a backoff without jitter never draws. */
const noJitter: Random = () => 0;
