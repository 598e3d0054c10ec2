import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import { ballotString, PaxosClient, PaxosDomainError, PaxosRefusedError } from '@actorfs/paxos';
import { CacheHolders } from './cache-holders.ts';
import type { CellConfig } from './cell.ts';
import { LockGrants } from './master-grants.ts';
import type { LsMachine } from './machine.ts';
import type { FreedLock, HandleId, LsOp, MasterTerm, LsQuery, LsQueryResults, LsResult, LsResults, SessionId } from './protocol.ts';
import { drawSecret, failed, isDeposed, runReleased } from './master-replies.ts';
import type { ClientOp, ServerMsg, ServerReply } from './server-protocol.ts';
import { KeepAliveHolder } from './master-keepalives.ts';
import { SessionOwners, type OwnerRefusal } from './session-owners.ts';
import { unreachable } from './unreachable.ts';

/** Cache registrations (session, node) the master tracks at most; past it, reads are answered as not cacheable. */
export const MAX_CACHERS = 1_000_000;
/**
 * One term of mastership: the master's memory (session leases, blocking acquires, who caches
 * what, writes waiting for invalidations), made when this node's proposer starts leading and
 * dropped when it stops. Every change of the database goes through `propose`, so the master sees
 * each result (sessions opened and ended, locks freed, handles' paths).
 */
export class Master {
  private readonly keepAlives: KeepAliveHolder;
  private readonly grants: LockGrants;
  ready = false;
  /** start() failed: the next wake tries it again. */
  retryStart = false;
  private stopped = false;
  private readonly handlePaths = new Map<HandleId, string>();
  private readonly owners: SessionOwners;
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
    this.keepAlives = new KeepAliveHolder(ctx, { leaseMs: t.leaseMs, answerBeforeEndMs: t.answerBeforeEndMs, gracePeriodMs: t.gracePeriodMs, maxPendingEvents: t.maxPendingEvents }, this.termName, {
      flushed: (session) => this.flushed(session),
      acknowledged: (acks) => runReleased(this.holders.acknowledged(acks, this.ctx.now())),
      expire: (session) => this.endSession({ type: 'expireSession', session }, undefined),
    });
    this.grants = new LockGrants(ctx, { maxWaitersPerLock: t.maxWaitersPerLock, maxWaiters: t.maxWaiters }, {
      commit: (op) => this.commit(op),
      write: (path, session, go) => this.write(path, session, go),
      doneWriting: (path) => void this.doneWriting(path, undefined),
      schedule: () => this.schedule(),
      stopped: () => this.stopped,
    });
    this.holders = new CacheHolders(MAX_CACHERS, ctx.now() + t.leaseMs);
    this.owners = new SessionOwners(paxos, (session) => this.sessionFound(session), () => this.stopped);
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
    sessions.forEach((s, i) => this.owners.set(s, secrets[i] ?? ''));
    this.holders.takeOver(sessions);
    this.keepAlives.step({ type: 'becameMaster', sessions });
    this.ready = true;
    this.flushed(undefined);
    this.schedule();
  }

  private sessionFound(session: SessionId): void {
    this.keepAlives.step({ type: 'sessionFound', session });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.keepAlives.step({ type: 'lostMastership' });
    this.grants.step({ type: 'lostMastership' });
    this.holders.stop();
  }

  /** Runs `go` once a request naming `session` (or none) with `secret` may act on it, or `refuse`. */
  whenOwner(session: SessionId | undefined, secret: string | undefined, go: () => void, refuse: (why: OwnerRefusal) => void): void {
    this.owners.whenOwner(session, secret, go, refuse);
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
    if (to) this.pathOf(msg.session, msg.handle, to, (lock) => this.grants.acquire(lock, msg, to));
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
    this.keepAlives.keepAlive(msg, to);
    this.schedule();
  }

  /** Committed database events, to the sessions they are for (and sessions opened, to their leases). */
  events(events: Array<[number, unknown]>): void {
    this.keepAlives.events(events);
    this.schedule();
  }

  wake(): void {
    this.wakeAt = undefined;
    if (this.retryStart) {
      this.retryStart = false;
      return this.start();
    }
    const now = this.ctx.now();
    this.keepAlives.step({ type: 'tick' });
    this.grants.step({ type: 'tick' });
    runReleased(this.holders.due(now));
    this.schedule();
  }

  /**
   * Sets the wake timer to the earliest moment anything is due. A timer already set no later stays
   * (an early wake only looks and sets it again): this runs after every command.
   */
  schedule(): void {
    if (this.stopped) return;
    const due = Math.min(this.keepAlives.nextWakeAt() ?? Infinity, this.grants.nextWakeAt() ?? Infinity, this.holders.nextDeadline() ?? Infinity);
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
      return this.grants.step({ type: 'mayBeFreed' });
    }
    this.keepAlives.step({ type: 'expireFailed', session: op.session });
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
    switch (op.type) {
      case 'openSession': {
        const { session, secret } = result as LsResults['openSession'];
        this.owners.set(session, secret ?? '');
        this.keepAlives.step({ type: 'sessionOpened', session });
        break;
      }
      case 'closeSession':
      case 'expireSession':
        this.keepAlives.step({ type: 'sessionEnded', session: op.session });
        this.owners.delete(op.session);
        this.flushed(op.session);
        this.grants.step({ type: 'sessionEnded', session: op.session });
        this.holders.sessionEnded(op.session);
        this.grants.freed((result as { freed: FreedLock[] }).freed);
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
        this.grants.freed((result as { freed: FreedLock[] }).freed);
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
    const { invalidations, ready } = this.holders.write(path, session, now, (s) => this.keepAlives.deadlineOf(s), go);
    for (const { session: holder, id } of invalidations) this.keepAlives.step({ type: 'events', session: holder, events: [{ type: 'invalidate', id, path }] });
    if (ready) return go();
    this.schedule();
  }

  /** A session taken over has flushed its cache (or ended). */
  private flushed(session: SessionId | undefined): void {
    runReleased(this.holders.flushed(session, this.ctx.now()));
  }

  /**
   * The writer of contents may keep its write-through copy (true) unless another write of the node
   * is still under way, or the answer repeats an earlier one (the file may have been written since).
   */
  private doneWriting(path: string, op: LsOp | undefined, result?: LsResult): boolean {
    const keeps = op?.type === 'setContents' && (result as LsResults['setContents']).repeated !== true;
    return this.holders.doneWriting(path, keeps ? op.session : undefined);
  }

  private reply(to: ReplyHandle | undefined, reply: ServerReply<unknown> & { cacheable?: boolean }): void {
    if (to) this.ctx.replyTo(to, reply);
  }
}
