import type { ActorContext, ActorRef } from '@actorfs/actors';
import type { CellTiming } from './cell.ts';
import type { ClientMsg } from './client-protocol.ts';
import type { LockMode, LsQuery, LsResults, SessionId } from './protocol.ts';
import { requestRetryTiming, RetryBackoff } from './retry-backoff.ts';
import type { ClientOp, ServerMsg, ServerReply } from './server-protocol.ts';
import { MASTER_ATTEMPTS } from './server.ts';

/** Attempts of one request at finding a master that takes it. */
export const MAX_ATTEMPTS = 30;

export type AcquireRequest = { handle: number; mode: LockMode; lockDelayMs?: number };
export type QueryReply<R> = ServerReply<R> & { cacheable?: boolean };

export const auth = (secret: string | undefined): { secret?: string } => (secret === undefined ? {} : { secret });

/** What the request path needs of its client session. */
export interface RequestSession {
  /** Undefined while the session may be used; else a wait for jeopardy to end, with the refusal if it may not be used any more. */
  usable(): Promise<ServerReply<never> | undefined> | undefined;
  /** A new attempt number (the database's `attempt`), unique in the session. */
  nextAttempt(): number;
}

/**
 * A client session's way to the master: finding it (and again after NOT_MASTER or
 * DEPOSED_MASTER), sending a request with its timeout, and asking again, under the same attempt,
 * a write or an acquire whose outcome is unknown.
 */
export class MasterLink {
  /** The master as last found (undefined: found again before the next request). */
  master: ActorRef<ServerMsg> | undefined;
  /** A write may wait up to a lease for other clients' caches to be invalidated, and the master tries Paxos up to MASTER_ATTEMPTS times. */
  private readonly opTimeoutMs: number;

  constructor(
    private readonly ctx: ActorContext<ClientMsg>,
    private readonly servers: ActorRef<ServerMsg>[],
    private readonly t: CellTiming,
    private readonly random: () => number,
    private readonly session: RequestSession,
  ) {
    this.opTimeoutMs = t.leaseMs + (MASTER_ATTEMPTS + 1) * t.requestTimeoutMs;
  }

  /**
   * Asks every server who the master is and takes the first name given (a wrong one costs a
   * NOT_MASTER and another search); undefined once every server has answered without one. Waiting
   * for all answers would wait out the request timeout of any server that is cut off.
   */
  find(): Promise<ActorRef<ServerMsg> | undefined> {
    return new Promise((resolve) => {
      let unanswered = this.servers.length;
      if (unanswered === 0) resolve(undefined);
      for (const s of this.servers) {
        void this.ctx.ask(s, { type: 'whoIsMaster' }, { timeoutMs: this.t.requestTimeoutMs }).then(
          (r) => (r.master !== null ? resolve(r.master) : --unanswered === 0 && resolve(undefined)),
          () => --unanswered === 0 && resolve(undefined),
        );
      }
    });
  }

  /**
   * Sends a request to the master, finding it first and again after NOT_MASTER or DEPOSED_MASTER
   * (nothing was done).
   * A timeout retries only a request that may run twice (`retryable`); otherwise it is UNAVAILABLE.
   */
  async send<R>(make: () => ServerMsg, timeoutMs: number, retryable: boolean): Promise<ServerReply<R>> {
    // Made on the first retry: most requests are answered at the first go.
    let backoff: RetryBackoff | undefined;
    let reason = 'no master found';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const waiting = this.session.usable();
      const closed = waiting === undefined ? undefined : await waiting;
      if (closed) return closed;
      this.master ??= await this.find();
      const m = this.master;
      if (m !== undefined) {
        try {
          const reply = (await this.ctx.ask(m, make() as ServerMsg & { type: 'op' }, { timeoutMs })) as ServerReply<R>;
          // Either way nothing was done: a deposed master's op was refused by the database.
          if (reply.ok || (reply.error.code !== 'NOT_MASTER' && reply.error.code !== 'DEPOSED_MASTER')) return reply;
          reason = reply.error.message;
        } catch (err) {
          reason = err instanceof Error ? err.message : String(err);
          if (!retryable) return { ok: false, error: { code: 'UNAVAILABLE', message: `no answer from the master ${m.node} (the request may or may not have been applied): ${reason}` } };
        }
        if (this.master === m) this.master = undefined;
      }
      backoff ??= new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
      await this.ctx.sleep(backoff.next(Infinity));
    }
    return { ok: false, error: { code: 'UNAVAILABLE', message: `no master took the request after ${MAX_ATTEMPTS} attempts: ${reason}` } };
  }

  op<R>(o: ClientOp, secret: string | undefined): Promise<ServerReply<R>> {
    return this.send<R>(() => ({ type: 'op', op: o, ...auth(secret) }), this.opTimeoutMs, false);
  }

  query<R>(q: LsQuery, secret: string | undefined, cache?: { session: SessionId; path: string }): Promise<QueryReply<R>> {
    return this.send<R>(() => ({ type: 'query', query: q, ...auth(secret), ...(cache ? { cache } : {}) }), this.t.requestTimeoutMs, true);
  }

  /**
   * An acquire (`timeoutMs` undefined: a try) under an attempt number of its own. A try is
   * `final`: its answer decides the attempt, and the database refuses any later copy of it. An
   * answer that leaves the outcome unknown (no answer, UNAVAILABLE) is followed by a final try of
   * the same attempt, which the database answers with the grant if the attempt had it: the caller
   * always learns whether it holds the lock, and a copy still on its way (a deposed master's
   * retry) can never grant it later. A blocking acquire that learns it does not waits on for the
   * rest of its timeout, under a new attempt.
   */
  async acquire(s: SessionId, secret: string | undefined, req: AcquireRequest, timeoutMs: number | undefined): Promise<ServerReply<LsResults['acquire']>> {
    const acquire = { session: s, handle: req.handle, mode: req.mode, ...(req.lockDelayMs === undefined ? {} : { lockDelayMs: req.lockDelayMs }) };
    let attempt = this.session.nextAttempt();
    const deadline = this.ctx.now() + (timeoutMs ?? 0);
    const backoff = new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
    let blocking = timeoutMs !== undefined;
    for (let round = 1; ; round++) {
      const left = (): number => Math.max(0, deadline - this.ctx.now());
      const r = blocking
        ? await this.send<LsResults['acquire']>(() => ({ type: 'acquire', ...auth(secret), ...acquire, attempt, timeoutMs: left() }), left() + this.opTimeoutMs, false)
        : await this.send<LsResults['acquire']>(() => ({ type: 'op', op: { type: 'acquire', ...acquire, attempt, final: true }, ...auth(secret) }), this.opTimeoutMs, false);
      if (!r.ok && r.error.code === 'UNAVAILABLE' && round < MAX_ATTEMPTS) {
        blocking = false;
        await this.ctx.sleep(backoff.next(Infinity));
        continue;
      }
      const refused = !r.ok && (r.error.code === 'LOCK_HELD' || r.error.code === 'LOCK_DELAY' || r.error.code === 'ATTEMPT_DECIDED');
      if (!refused || timeoutMs === undefined || blocking) return r;
      if (this.ctx.now() >= deadline) return { ok: false, error: { code: 'TIMEOUT', message: `the lock was not granted within the acquire's timeout (${timeoutMs} ms)` } };
      [attempt, blocking] = [this.session.nextAttempt(), true];
    }
  }

  /**
   * Asks a request that names its attempt again while its outcome is unknown (UNAVAILABLE: no
   * answer, or none from the master's Paxos group), with the same attempt: the database answers a
   * copy of an attempt it applied as it answered the first, so the request is applied once.
   */
  async untilKnown<R>(ask: () => Promise<ServerReply<R>>): Promise<ServerReply<R>> {
    const backoff = new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
    for (let round = 1; ; round++) {
      const r = await ask();
      if (r.ok || r.error.code !== 'UNAVAILABLE' || round >= MAX_ATTEMPTS) return r;
      await this.ctx.sleep(backoff.next(Infinity));
    }
  }
}
