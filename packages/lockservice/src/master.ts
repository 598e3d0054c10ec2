import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import { ballotString, PaxosClient, PaxosDomainError, PaxosRefusedError } from '@actorfs/paxos';
import { CacheHolders } from './cache-holders.ts';
import type { CellConfig } from './cell.ts';
import type { LsError } from './errors.ts';
import { LockWaiters, type RefusalReason, type WaitersEffect } from './lock-waiters.ts';
import type { LsMachine } from './machine.ts';
import type { DbEvent, FreedLock, HandleId, LsOp, MasterTerm, LsQuery, LsQueryResult, LsQueryResults, LsResult, LsResults, SessionId } from './protocol.ts';
import type { ClientOp, MasterEvent, ServerMsg, ServerReply, ServiceError } from './server-protocol.ts';
import { SessionLeases, type LeaseEffect } from './session-leases.ts';
import { unreachable } from './unreachable.ts';

/** Cache registrations (session, node) the master tracks at most; past it, reads are answered as not cacheable. */
export const MAX_CACHERS = 1_000_000;
/** Unknown sessions looked up in the database at once at most; a request naming one more is refused as `busy`. */
export const MAX_SESSION_LOOKUPS = 1_000;

/** Why a request may not act on the session it names: a wrong secret, or too many unknown sessions being looked up. */
export type OwnerRefusal = 'notOwner' | 'busy';

/** A request waiting for its session to be looked up. */
interface OwnerWait {
  secret: string | undefined;
  go: () => void;
  refuse: (why: OwnerRefusal) => void;
}

/** A KeepAlive held at the master, and when it arrived (the answer says how long it was held). */
interface HeldKeepAlive {
  to: ReplyHandle;
  at: number;
}

/**
 * One term of mastership: the master's memory (session leases, blocking acquires, who caches
 * what, writes waiting for invalidations), made when this node's proposer starts leading and
 * dropped when it stops. Every change of the database goes through `propose`, so the master sees
 * each result (sessions opened and ended, locks freed, handles' paths).
 */
export class Master {
  readonly leases: SessionLeases<HeldKeepAlive, MasterEvent>;
  readonly waiters: LockWaiters<ReplyHandle>;
  ready = false;
  /** start() failed: the next wake tries it again. */
  retryStart = false;
  private stopped = false;
  private readonly handlePaths = new Map<HandleId, string>();
  /** Each live session's secret, as the database holds it ('' for one opened without). */
  private readonly secrets = new Map<SessionId, string>();
  private readonly lookups = new Map<SessionId, OwnerWait[]>();
  /**
   * Who caches what, and writes waiting for those copies to go. A new master's writes wait until
   * every session taken over has flushed its cache (it acknowledged an answer of this master) or
   * the leases the previous master granted ran out.
   */
  private readonly holders: CacheHolders;
  /** Names the term in KeepAlive answers: event numbers count within it. */
  private readonly termName: string;
  /** When the wake timer is set to fire (undefined: not set). */
  private wakeAt: number | undefined;

  constructor(
    private readonly ctx: ActorContext<ServerMsg>,
    private readonly config: CellConfig,
    private readonly paxos: PaxosClient<LsMachine>,
    /** This term of mastership: its proposer's ballot, which every op it proposes carries. */
    private readonly term: MasterTerm,
  ) {
    this.termName = ballotString(term);
    const t = config.timing;
    this.leases = new SessionLeases({ leaseMs: t.leaseMs, answerBeforeEndMs: t.answerBeforeEndMs, gracePeriodMs: t.gracePeriodMs, maxPendingEvents: t.maxPendingEvents });
    this.waiters = new LockWaiters({ maxWaitersPerLock: t.maxWaitersPerLock, maxWaiters: t.maxWaiters });
    this.holders = new CacheHolders(MAX_CACHERS, ctx.now() + t.leaseMs);
  }

  /**
   * Begins the term in the database (so no op of an older term applies after it), then reads the
   * live sessions and takes them over (each extended by a lease and the grace period).
   */
  start(): void {
    this.commit({ type: 'beginTerm', term: this.term })
      .then(() => (this.stopped ? undefined : this.paxos.read({ type: 'sessions' })))
      .then(
        (out) => {
          if (this.stopped || out === undefined) return;
          if (!out.ok) throw new Error(out.error.message);
          this.takeOver(out.result as LsQueryResults['sessions']);
        },
        (err: unknown) => {
          if (this.stopped) return;
          // A newer master began its term: this one is deposed, and its proposer will hear so.
          if (isDeposed(err)) return this.ctx.log.warn('master deposed before it began its term', { term: this.termName });
          this.ctx.log.warn('master could not begin its term or read the sessions; trying again', { error: String(err) });
          this.ctx.setTimer('start', this.config.timing.answerBeforeEndMs, { type: 'wake' });
          this.retryStart = true;
        },
      );
  }

  private takeOver({ sessions, secrets }: LsQueryResults['sessions']): void {
    sessions.forEach((s, i) => this.secrets.set(s, secrets[i] ?? ''));
    this.holders.takeOver(sessions);
    this.runLeases(this.leases.step({ type: 'becameMaster', sessions }, this.ctx.now()));
    this.ready = true;
    this.flushed(undefined);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.runLeases(this.leases.step({ type: 'lostMastership' }, this.ctx.now()));
    this.runWaiters(this.waiters.step({ type: 'lostMastership' }, this.ctx.now()));
    this.holders.stop();
  }

  /**
   * Runs `go` once a request naming `session` (or none) with `secret` may act on it, or `refuse`.
   * A session this master does not know is read from the database first: one whose open this
   * master proposed but did not hear answered is taken over as those it read at its start were
   * (a deposed master's late open is refused by the database); one not live is left to the
   * database, which refuses the request itself.
   */
  whenOwner(session: SessionId | undefined, secret: string | undefined, go: () => void, refuse: (why: OwnerRefusal) => void): void {
    const known = session === undefined ? '' : this.secrets.get(session);
    if (known !== undefined) return known === '' || known === secret ? go() : refuse('notOwner');
    const waiting = this.lookups.get(session!);
    if (waiting) return void waiting.push({ secret, go, refuse });
    if (this.lookups.size >= MAX_SESSION_LOOKUPS) return refuse('busy');
    this.lookups.set(session!, [{ secret, go, refuse }]);
    this.lookUp(session!);
  }

  private lookUp(session: SessionId): void {
    const settle = (live: string | undefined, readFailed: boolean): void => {
      const waits = this.lookups.get(session) ?? [];
      this.lookups.delete(session);
      const failed = readFailed || this.stopped;
      if (!failed && live !== undefined && !this.secrets.has(session)) {
        this.secrets.set(session, live);
        this.runLeases(this.leases.step({ type: 'sessionFound', session }, this.ctx.now()));
        this.schedule();
      }
      for (const w of waits) {
        if (failed) w.refuse('busy');
        else if (live === undefined || live === '' || live === w.secret) w.go();
        else w.refuse('notOwner');
      }
    };
    this.paxos.read({ type: 'sessions', session }).then(
      (out) => {
        const found = out.ok ? (out.result as LsQueryResults['sessions']) : undefined;
        settle(found?.sessions.length === 1 ? (found.secrets[0] ?? '') : undefined, !out.ok);
      },
      () => settle(undefined, true),
    );
  }

  op(op: ClientOp, to: ReplyHandle | undefined): void {
    // Changes to a node's contents or stat wait for the invalidation of other clients' caches; a
    // grant changes the lock generation, so a tryAcquire waits as a blocking acquire's try does.
    if (op.type === 'closeSession') return this.endSession(op, to);
    if (op.type === 'openSession') return this.propose({ ...op, secret: drawSecret(this.ctx) }, to);
    if (op.type !== 'setContents' && op.type !== 'delete' && op.type !== 'setAcl' && op.type !== 'acquire') return this.propose(op, to);
    this.pathOf(op.session, op.handle, to, (path) => this.write(path, op.session, () => this.propose(op, to, path)));
  }

  acquire(msg: Extract<ServerMsg, { type: 'acquire' }>, to: ReplyHandle | undefined): void {
    if (!to) return;
    this.pathOf(msg.session, msg.handle, to, (lock) => {
      const waiter = { to, session: msg.session, handle: msg.handle, mode: msg.mode, deadline: this.ctx.now() + msg.timeoutMs, ...(msg.lockDelayMs === undefined ? {} : { lockDelayMs: msg.lockDelayMs }), ...(msg.attempt === undefined ? {} : { attempt: msg.attempt }) };
      this.runWaiters(this.waiters.step({ type: 'acquire', lock, waiter }, this.ctx.now()));
    });
  }

  query(query: LsQuery, cache: { session: SessionId; path: string } | undefined, to: ReplyHandle | undefined): void {
    const cacheable = cache !== undefined && this.holders.register(cache.session, cache.path);
    this.paxos.read(query).then(
      (out) => this.reply(to, out.ok ? { ok: true, result: out.result, cacheable } : { ok: false, error: out.error }),
      (err: unknown) => this.reply(to, failed(err)),
    );
  }

  keepAlive(msg: Extract<ServerMsg, { type: 'keepAlive' }>, to: ReplyHandle | undefined): void {
    if (!to) return;
    const { session, acks } = msg;
    // A client that heard this master has flushed its cache (the failover answer says so).
    const ack = msg.seen?.term === this.termName ? msg.seen.seq : undefined;
    if (ack !== undefined) this.flushed(session);
    run(this.holders.acknowledged(acks, this.ctx.now()));
    this.runLeases(this.leases.step({ type: 'keepAlive', session, from: { to, at: this.ctx.now() }, answerNow: msg.answerNow === true, ...(ack === undefined ? {} : { ack }) }, this.ctx.now()));
    this.schedule();
  }

  /**
   * Committed database events, to the sessions they are for. A session opened gets its lease here
   * too, so one whose open's answer this master did not hear still expires by the same rule.
   */
  events(events: Array<[number, unknown]>): void {
    const bySession = new Map<SessionId, MasterEvent[]>();
    for (const [, e] of events) {
      const event = e as DbEvent;
      if (event.kind === 'sessionOpened') {
        this.runLeases(this.leases.step({ type: 'sessionOpened', session: event.session }, this.ctx.now()));
        continue;
      }
      let list = bySession.get(event.session);
      if (!list) bySession.set(event.session, (list = []));
      list.push({ type: 'event', event });
    }
    for (const [session, list] of bySession) this.runLeases(this.leases.step({ type: 'events', session, events: list }, this.ctx.now()));
    this.schedule();
  }

  wake(): void {
    this.wakeAt = undefined;
    if (this.retryStart) {
      this.retryStart = false;
      return this.start();
    }
    const now = this.ctx.now();
    this.runLeases(this.leases.step({ type: 'tick' }, now));
    this.runWaiters(this.waiters.step({ type: 'tick' }, now));
    run(this.holders.due(now));
    this.schedule();
  }

  /**
   * Sets the wake timer to the earliest moment anything is due. A timer already set no later stays
   * (an early wake only looks and sets it again): this runs after every command.
   */
  schedule(): void {
    if (this.stopped) return;
    const due = Math.min(this.leases.nextWakeAt() ?? Infinity, this.waiters.nextWakeAt() ?? Infinity, this.holders.nextDeadline() ?? Infinity);
    if (due === Infinity) {
      if (this.wakeAt !== undefined) this.ctx.cancelTimer('wake');
      this.wakeAt = undefined;
      return;
    }
    if (this.wakeAt !== undefined && this.wakeAt <= due) return;
    this.wakeAt = due;
    this.ctx.setTimer('wake', Math.max(0, due - this.ctx.now()), { type: 'wake' });
  }

  private propose(op: LsOp, to: ReplyHandle | undefined, writing?: string): void {
    this.commit(op).then(
      (result) => {
        const cacheable = writing !== undefined && this.doneWriting(writing, op, result);
        this.learn(op, result);
        this.reply(to, { ok: true, result, cacheable });
      },
      (err: unknown) => {
        if (writing !== undefined) this.doneWriting(writing, undefined);
        this.reply(to, failed(err));
      },
    );
  }

  /**
   * Ending a session deletes its ephemeral files, as the database lists them (some may have been
   * created under an earlier master): other sessions' cached copies of them go first, as for any
   * write (one path after another), then the end is proposed.
   */
  private endSession(op: Extract<LsOp, { type: 'closeSession' | 'expireSession' }>, to: ReplyHandle | undefined): void {
    this.paxos.read({ type: 'ephemerals', session: op.session }).then(
      (out) => {
        // An unknown session has none: its end is proposed and refused as such.
        const paths = out.ok ? (out.result as LsQueryResults['ephemerals']).paths : [];
        const next = (i: number): void => {
          if (i === paths.length) return this.proposeEnd(op, to, paths);
          this.write(paths[i]!, op.session, () => next(i + 1));
        };
        next(0);
      },
      (err: unknown) => this.endFailed(op, to, err),
    );
  }

  private proposeEnd(op: Extract<LsOp, { type: 'closeSession' | 'expireSession' }>, to: ReplyHandle | undefined, paths: string[]): void {
    const done = (): void => void paths.forEach((p) => this.doneWriting(p, undefined));
    this.commit(op).then(
      (result) => {
        done();
        this.learn(op, result);
        this.reply(to, { ok: true, result });
      },
      (err: unknown) => {
        done();
        this.endFailed(op, to, err);
      },
    );
  }

  /**
   * A session's end failed. An expiry the database refused (the session had already ended) is
   * learnt as an end; one without an answer may not have been applied, so it is proposed again.
   */
  private endFailed(op: Extract<LsOp, { type: 'closeSession' | 'expireSession' }>, to: ReplyHandle | undefined, err: unknown): void {
    this.reply(to, failed(err));
    if (op.type !== 'expireSession' || this.stopped || isDeposed(err)) return;
    if (err instanceof PaxosDomainError) {
      // Ended by an earlier try whose answer was lost: which locks that freed is not known here.
      this.learn(op, { freed: [] });
      return this.runWaiters(this.waiters.step({ type: 'mayBeFreed' }, this.ctx.now()));
    }
    this.runLeases(this.leases.step({ type: 'expireFailed', session: op.session }, this.ctx.now()));
    this.schedule();
  }

  /**
   * Proposes through the master's own Paxos session, under this master's term (the database
   * refuses the op once a newer term has begun). The group drops a session idle past its
   * sessionIdleMs (a master whose clients only send KeepAlives proposes nothing): a command refused
   * for that was never applied, and goes again in the new session the client opens.
   */
  private commit(op: LsOp): Promise<LsResult> {
    const termed: LsOp = { ...op, term: this.term };
    return this.paxos.propose(termed).catch((err: unknown) => {
      if (err instanceof PaxosRefusedError && err.code === 'session') return this.paxos.propose(termed);
      throw err;
    });
  }

  /** What a result tells the master: sessions opened and ended, handles' paths, locks freed. */
  private learn(op: LsOp, result: unknown): void {
    if (this.stopped) return;
    const now = this.ctx.now();
    switch (op.type) {
      case 'openSession': {
        const { session, secret } = result as LsResults['openSession'];
        this.secrets.set(session, secret ?? '');
        this.runLeases(this.leases.step({ type: 'sessionOpened', session }, now));
        break;
      }
      case 'closeSession':
      case 'expireSession':
        this.runLeases(this.leases.step({ type: 'sessionEnded', session: op.session }, now));
        this.secrets.delete(op.session);
        this.flushed(op.session);
        this.runWaiters(this.waiters.step({ type: 'sessionEnded', session: op.session }, now));
        this.holders.sessionEnded(op.session);
        this.freed((result as { freed: FreedLock[] }).freed);
        break;
      case 'open': {
        const { handle, stat } = result as LsResults['open'];
        this.handlePaths.set(handle, stat.path);
        break;
      }
      case 'close':
      case 'delete':
      case 'release':
        if (op.type !== 'release') this.handlePaths.delete(op.handle);
        this.freed((result as { freed: FreedLock[] }).freed);
        break;
      case 'beginTerm':
      case 'setContents':
      case 'setAcl':
      case 'acquire':
        break;
      default:
        unreachable(op, 'master');
    }
    this.schedule();
  }

  private freed(freed: FreedLock[]): void {
    for (const f of freed) this.runWaiters(this.waiters.step({ type: 'freed', lock: f.path, availableAt: f.availableAt }, this.ctx.now()));
  }

  /** The path of a session's handle: known from its open, or read from the database (after a failover). */
  private pathOf(session: SessionId, handle: HandleId, to: ReplyHandle | undefined, then: (path: string) => void): void {
    const known = this.handlePaths.get(handle);
    if (known !== undefined) return then(known);
    this.paxos.read({ type: 'stat', session, handle }).then(
      (out) => {
        if (!out.ok) return this.reply(to, { ok: false, error: out.error });
        const path = (out.result as { stat: { path: string } }).stat.path;
        this.handlePaths.set(handle, path);
        then(path);
      },
      (err: unknown) => this.reply(to, failed(err)),
    );
  }

  /**
   * A write of `path` by `session`: every other session caching it is told through its KeepAlive,
   * and the write is proposed once each has acknowledged, or its lease has run out.
   */
  private write(path: string, session: SessionId, go: () => void): void {
    const now = this.ctx.now();
    const { invalidations, ready } = this.holders.write(path, session, now, (s) => this.leases.deadlineOf(s), go);
    for (const { session: holder, id } of invalidations) this.runLeases(this.leases.step({ type: 'events', session: holder, events: [{ type: 'invalidate', id, path }] }, now));
    if (ready) return go();
    this.schedule();
  }

  /** A session taken over has flushed its cache (or ended). */
  private flushed(session: SessionId | undefined): void {
    run(this.holders.flushed(session, this.ctx.now()));
  }

  /**
   * The writer of contents may keep its write-through copy (true) unless another write of the node
   * is still under way, or the answer repeats an earlier one (the file may have been written since).
   */
  private doneWriting(path: string, op: LsOp | undefined, result?: LsResult): boolean {
    const keeps = op?.type === 'setContents' && (result as LsResults['setContents']).repeated !== true;
    return this.holders.doneWriting(path, keeps ? op.session : undefined);
  }

  private runLeases(effects: LeaseEffect<HeldKeepAlive, MasterEvent>[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'answer': {
          const { leaseRemainingMs, events, firstSeq, eventsLost, failover } = e;
          this.ctx.replyTo(e.to.to, { ok: true, heldMs: this.ctx.now() - e.to.at, leaseRemainingMs, term: this.termName, events, firstSeq, eventsLost, failover });
          break;
        }
        case 'refuse':
          this.ctx.replyTo(e.to.to, { ok: false, reason: e.reason });
          break;
        case 'proposeExpire':
          this.endSession({ type: 'expireSession', session: e.session }, undefined);
          break;
        default:
          unreachable(e, 'master leases');
      }
    }
  }

  private runWaiters(effects: WaitersEffect<ReplyHandle>[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'propose': {
          const { waiter, lock } = e;
          const { session, handle, mode, lockDelayMs, attempt } = waiter;
          const op: LsOp = { type: 'acquire', session, handle, mode, ...(lockDelayMs === undefined ? {} : { lockDelayMs }), ...(attempt === undefined ? {} : { attempt }) };
          // A grant changes the node's stat (lock generation): cached copies go first.
          this.write(lock, waiter.session, () => this.tryAcquire(op, lock, waiter.to));
          break;
        }
        case 'timedOut':
          this.reply(e.waiter.to, { ok: false, error: { code: 'TIMEOUT', message: `the lock was not granted within the acquire's timeout` } });
          break;
        case 'refuse':
          this.reply(e.waiter.to, { ok: false, error: refusal(e.reason) });
          break;
        default:
          unreachable(e, 'master waiters');
      }
    }
  }

  private tryAcquire(op: LsOp, lock: string, to: ReplyHandle): void {
    this.commit(op).then(
      (result) => {
        this.doneWriting(lock, undefined);
        this.reply(to, { ok: true, result });
        if (!this.stopped) this.runWaiters(this.waiters.step({ type: 'tried', lock, outcome: 'granted' }, this.ctx.now()));
      },
      (err: unknown) => {
        this.doneWriting(lock, undefined);
        const code = err instanceof PaxosDomainError ? err.code : undefined;
        if (code !== 'LOCK_HELD' && code !== 'LOCK_DELAY') this.reply(to, failed(err));
        if (this.stopped) return;
        const outcome =
          code === 'LOCK_HELD' ? { outcome: 'held' as const }
          : code === 'LOCK_DELAY' ? { outcome: 'delayed' as const, availableAt: delayEnd(err as PaxosDomainError, this.ctx.now()) }
          : { outcome: 'failed' as const };
        this.runWaiters(this.waiters.step({ type: 'tried', lock, ...outcome }, this.ctx.now()));
        this.schedule();
      },
    );
  }

  private reply(to: ReplyHandle | undefined, reply: ServerReply<unknown> & { cacheable?: boolean }): void {
    if (to) this.ctx.replyTo(to, reply);
  }
}

function refusal(reason: RefusalReason): ServiceError {
  switch (reason) {
    case 'tooManyWaiters':
      return { code: 'TOO_MANY_WAITERS', message: 'too many acquires wait for this lock or in the cell' };
    case 'sessionEnded':
      return { code: 'SESSION_EXPIRED', message: 'the session ended while its acquire waited' };
    case 'notMaster':
      return { code: 'NOT_MASTER', message: 'the master lost mastership while the acquire waited' };
    case 'outcomeUnknown':
      return { code: 'UNAVAILABLE', message: 'the master lost mastership while the acquire was being granted or refused: it may hold the lock; ask again with the same attempt to learn which' };
    default:
      return unreachable(reason, 'waiter refusal');
  }
}

/** The end of a lock-delay, as the database's LOCK_DELAY error gives it. */
function delayEnd(err: PaxosDomainError, now: number): number {
  return (err.error as LsError).availableAt ?? now;
}

/** The database refused an op as proposed by a deposed master: it was not applied. */
function isDeposed(err: unknown): boolean {
  return err instanceof PaxosDomainError && (err.error as LsError).code === 'DEPOSED_MASTER';
}

/** Runs the writes a wait released, in the order they came. */
function run(released: Array<() => void>): void {
  for (const go of released) go();
}

/** 128 bits from the actor's random source, as 32 hex digits. */
function drawSecret(ctx: ActorContext<ServerMsg>): string {
  let secret = '';
  for (let i = 0; i < 4; i++) secret += Math.floor(ctx.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return secret;
}

/** Any failure of a proposal or read as the client's typed error. */
export function failed(err: unknown): { ok: false; error: ServiceError | LsError } {
  if (err instanceof PaxosDomainError) return { ok: false, error: err.error as LsError };
  if (err instanceof PaxosRefusedError && err.code === 'invalid') return { ok: false, error: { code: 'BAD_REQUEST', message: err.message } };
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, error: { code: 'UNAVAILABLE', message: `no answer from the cell's Paxos group (the op may or may not have been applied): ${message}` } };
}

export type { LsQueryResult };
