import type { ActorRef } from '@actorfs/actors';
import type { Command, ProposeReply, ProposerMsg, RefusalCode } from './messages.ts';
import type { AnyMachineDef, DomainError, MachineDef, OpOf, QueryOf, QueryResultOf, ResultOf } from './state-machine.ts';

/** How the client reaches a proposer: system.ask, ctx.ask or sim.ask, wrapped. */
export type Asker = (ref: ActorRef<ProposerMsg>, msg: ProposerMsg, timeoutMs: number) => Promise<ProposeReply>;

export interface PaxosClientOptions<M extends AnyMachineDef = MachineDef> {
  /** A label for this client: its sessions' ids start with it (for logs). */
  clientId: string;
  /** The machine the group runs: types propose and read (only its type is used). */
  machine?: M;
  proposers: ActorRef<ProposerMsg>[];
  ask: Asker;
  /** Waits between attempts (ctx.sleep inside an actor, a timer outside). */
  sleep: (ms: number) => Promise<void>;
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
}

export class PaxosUnavailableError extends Error {
  override readonly name = 'PaxosUnavailableError';
}

/** The group refused the command itself (see RefusalCode): not retried. */
export class PaxosRefusedError extends Error {
  override readonly name = 'PaxosRefusedError';
  constructor(
    message: string,
    readonly code: RefusalCode,
  ) {
    super(message);
  }
}

/** The machine applied the op and answered with a domain error. */
export class PaxosDomainError extends Error {
  override readonly name = 'PaxosDomainError';
  readonly code: string;
  constructor(error: DomainError) {
    super(error.message);
    this.code = error.code;
  }
}

/**
 * The client API: `propose(op)` resolves with the result of applying op, exactly once however
 * often it is retried; `read(query)` is a linearizable read served under the leader's lease.
 * Commands run in a session the client opens on first use; up to `window` of them are in flight
 * at once (further calls wait their turn), each retried with its own seq until answered. Every
 * command carries the client's low-water mark, so the group forgets the outcomes it no longer needs.
 * It follows leader hints, tries the next proposer on timeouts, and backs off when no one leads.
 */
export class PaxosClient<M extends AnyMachineDef = MachineDef> {
  private session: Promise<string> | undefined;
  /** The newest seq handed out. */
  private seq = 0;
  /** Every seq up to here is settled (answered or given up): never sent again. */
  private ack = 0;
  /** Settled seqs above ack. */
  private readonly settled = new Set<number>();
  private readonly waiting: Array<(seq: number) => void> = [];
  private leader: ActorRef<ProposerMsg> | undefined;
  private next = 0;
  private readonly window: number;

  constructor(private readonly opts: PaxosClientOptions<M>) {
    this.window = opts.window ?? 64;
  }

  get clientId(): string {
    return this.opts.clientId;
  }

  /** The seq the next command will get. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  async propose(op: OpOf<M>): Promise<ResultOf<M>> {
    const session = await this.openSession();
    const seq = await this.takeSeq();
    try {
      return (await this.attempt(() => ({ type: 'propose', cmd: { type: 'op', session, seq, ack: this.ack, op } }))) as ResultOf<M>;
    } catch (err) {
      if (err instanceof PaxosRefusedError && err.code === 'session') this.session = undefined;
      throw err;
    } finally {
      this.settle(seq);
    }
  }

  async read(query: QueryOf<M>): Promise<QueryResultOf<M>> {
    return (await this.attempt(() => ({ type: 'read', query }))) as QueryResultOf<M>;
  }

  /** Closes the session (the group forgets it); the next propose opens a new one. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await this.command({ type: 'close', session: await session });
  }

  private openSession(): Promise<string> {
    if (!this.session) {
      const opening = this.command({ type: 'open', client: this.opts.clientId }).then((id) => id as string);
      opening.catch(() => {
        if (this.session === opening) this.session = undefined;
      });
      this.session = opening;
    }
    return this.session;
  }

  private command(cmd: Command): Promise<unknown> {
    return this.attempt(() => ({ type: 'propose', cmd }));
  }

  /** A seq for a new command, once the window has room for it (callers wait in turn). */
  private takeSeq(): Promise<number> {
    if (this.seq - this.ack < this.window && this.waiting.length === 0) return Promise.resolve(++this.seq);
    if (this.waiting.length >= (this.opts.maxWaiting ?? 10_000)) throw new Error(`client ${this.opts.clientId}: ${this.waiting.length} calls already wait for the window`);
    return new Promise<number>((resolve) => this.waiting.push(resolve));
  }

  private settle(seq: number): void {
    this.settled.add(seq);
    while (this.settled.delete(this.ack + 1)) this.ack++;
    // A waiter's seq is taken as it is woken, so a new caller cannot slip in ahead of it.
    while (this.waiting.length > 0 && this.seq - this.ack < this.window) this.waiting.shift()!(++this.seq);
  }

  /** Sends the message made by `msg` (fresh per attempt: it carries the current ack) until answered. */
  private async attempt(msg: () => ProposerMsg): Promise<unknown> {
    const { proposers, ask, sleep, timeoutMs = 1000, maxAttempts = 30, backoffMs = 20, maxBackoffMs = 1000 } = this.opts;
    let lastReason = 'no attempt';
    let backoff = backoffMs;
    // Proposers that failed this operation: a hint naming one (a dead leader, say) is not followed.
    const failed = new Set<string>();
    const wait = async (): Promise<void> => {
      await sleep(backoff);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    };
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const target = this.leader ?? proposers[this.next % proposers.length]!;
      let reply: ProposeReply;
      try {
        reply = await ask(target, msg(), timeoutMs);
      } catch (err) {
        lastReason = err instanceof Error ? err.message : String(err);
        failed.add(target.toString());
        this.forget();
        await wait();
        continue;
      }
      if (reply.ok) {
        this.leader = target;
        return reply.result;
      }
      if ('error' in reply) throw new PaxosDomainError(reply.error);
      if ('refused' in reply) throw new PaxosRefusedError(reply.reason, reply.refused);
      lastReason = reply.reason;
      if (reply.leader && !reply.leader.equals(target) && !failed.has(reply.leader.toString())) {
        this.leader = reply.leader;
        continue;
      }
      this.forget();
      await wait();
    }
    throw new PaxosUnavailableError(`no answer after ${maxAttempts} attempts: ${lastReason}`);
  }

  private forget(): void {
    this.leader = undefined;
    this.next++;
  }
}
