import { defineActor, type ActorContext, type ActorRef, type Behavior, type ReplyHandle } from '@actorfs/actors';
import type { CellConfig, CellTiming } from './cell.ts';
import { ClientCache } from './client-cache.ts';
import { EventBuffer } from './client-events.ts';
import { ClientLease, keepAliveWaitMs, type ClientLeaseEffect } from './client-lease.ts';
import type { ClientMsg, ClientReply, ClientRequest, ClientStatus } from './client-protocol.ts';
import { EventReceiver } from './event-receiver.ts';
import { shareView, withdrawView, type CachedFile, type LocalView } from './local-view.ts';
import type { LockMode, LsEvent, LsQuery, LsResults, SessionId } from './protocol.ts';
import { keepAliveRetryTiming, requestRetryTiming, RetryBackoff } from './retry-backoff.ts';
import type { ClientOp, KeepAliveReply, MasterEvent, ServerMsg, ServerReply } from './server-protocol.ts';
import { MASTER_ATTEMPTS, STARTED } from './server.ts';
import { unreachable } from './unreachable.ts';

export { MAX_CACHED_FILES } from './client-cache.ts';
export { MAX_BUFFERED_EVENTS } from './client-events.ts';

/** Attempts of one request at finding a master that takes it. */
const MAX_ATTEMPTS = 30;
/** Tries at opening the session again after an unknown outcome. */
const MAX_OPEN_RETRIES = 5;
/** Takes of events held for the next event at most; one more is answered at once (empty). */
export const MAX_HELD_TAKES = 1_000;
/** Calls held while the session is in jeopardy at most; one more is refused (UNAVAILABLE) at once. */
export const MAX_CALLS_IN_JEOPARDY = 10_000;

export interface ClientProps {
  config: CellConfig;
  servers: ActorRef<ServerMsg>[];
  principal: string;
}

type AcquireRequest = { handle: number; mode: LockMode; lockDelayMs?: number };
type QueryReply<R> = ServerReply<R> & { cacheable?: boolean };

const auth = (secret: string | undefined): { secret?: string } => (secret === undefined ? {} : { secret });

/**
 * One client session: opens it at the master, keeps it alive (one KeepAlive always held at the
 * master; `ClientLease` for jeopardy and the grace period, finding a new master after a
 * failover), caches file contents and stat write-through, and runs the application's requests.
 * A cached copy is dropped when the master's invalidation arrives (acknowledged with the next
 * KeepAlive, before the other client's write commits), in jeopardy, and after a failover.
 */
export const ClientSession = defineActor('lockservice.client', (props: ClientProps, ctx: ActorContext<ClientMsg>) => new SessionActor(props, ctx).behavior());

class SessionActor {
  private readonly t: CellTiming;
  private master: ActorRef<ServerMsg> | undefined;
  private session: SessionId | undefined;
  /** Shown with every request for the session: only its opener may act on it. */
  private secret: string | undefined;
  private lease: ClientLease<MasterEvent> | undefined;
  private state: ClientStatus['state'] = 'opening';
  private readonly handles = new Map<number, string>();
  /** Handles subscribed to "master failed over". */
  private readonly failoverWatchers = new Set<number>();
  private readonly received = new EventReceiver<MasterEvent>();
  private readonly cache = new ClientCache();
  private readonly events = new EventBuffer();
  private acks: number[] = [];
  private keepAliveFailures = 0;
  private readonly random = (): number => this.ctx.random();
  private readonly keepAliveBackoff: RetryBackoff;
  /** Requests held until jeopardy ends (safe or expired), as Chubby's library holds them. */
  private readonly heldInJeopardy: Array<() => void> = [];
  /** Takes of events waiting for the next one, oldest first (each with its timeout timer's id). */
  private readonly heldTakes: Array<{ id: number; to: ReplyHandle }> = [];
  private nextTakeId = 1;
  private callsRunning = 0;
  /** Names each acquire and write call of this actor (the database's `attempt`), for asking again after an unknown outcome. */
  private nextAttempt = 1;
  private lastCallAt: number;
  /** A write may wait up to a lease for other clients' caches to be invalidated, and the master tries Paxos up to MASTER_ATTEMPTS times. */
  private readonly opTimeoutMs: number;
  private withdrawn = false;
  private readonly view: LocalView = {
    read: (handle) => {
      const path = this.withdrawn ? undefined : this.handles.get(handle);
      return path === undefined ? undefined : this.cached(path);
    },
  };
  private opening: Promise<SessionId | undefined>;

  constructor(
    private readonly props: ClientProps,
    private readonly ctx: ActorContext<ClientMsg>,
  ) {
    this.t = props.config.timing;
    this.keepAliveBackoff = new RetryBackoff(keepAliveRetryTiming(this.t.leaseMs), this.random);
    this.lastCallAt = ctx.now();
    this.opTimeoutMs = this.t.leaseMs + (MASTER_ATTEMPTS + 1) * this.t.requestTimeoutMs;
    shareView(ctx.self, this.view);
    this.opening = this.openSession();
  }

  behavior(): Behavior<ClientMsg> {
    return {
      receive: (msg) => this.receive(msg),
      stopped: () => {
        this.withdrawn = true;
        withdrawView(this.ctx.self, this.view);
      },
    };
  }

  // ---- messages ----

  private receive(msg: ClientMsg): void | Promise<void> {
    switch (msg.type) {
      case 'call':
        this.callsRunning++;
        this.lastCallAt = this.ctx.now();
        this.answer(this.ctx.replyHandle(), this.call(msg.req));
        return STARTED;
      case 'takeEvents':
        return this.takeEvents(msg.waitMs);
      case 'watchTimeout': {
        const i = this.heldTakes.findIndex((h) => h.id === msg.id);
        if (i >= 0) this.ctx.replyTo(this.heldTakes.splice(i, 1)[0]!.to, this.events.take());
        return;
      }
      case 'status':
        return this.ctx.reply({ session: this.session ?? null, state: this.state, master: this.master?.node ?? null, cached: this.cache.size } satisfies ClientStatus);
      case 'sendKeepAlive':
        return this.sendKeepAlive();
      case 'keepAliveDone':
        // An answer for a session ended for idleness is not for the one opened since.
        if (msg.session !== undefined && msg.session !== this.session) return;
        return this.onKeepAlive(msg.sentAt, msg.acks, msg.reply);
      case 'idleCheck':
        return this.endIfIdle();
      case 'wake':
        if (this.lease) this.runLease(this.lease.step({ type: 'tick' }, this.ctx.now()));
        return;
      default:
        return unreachable(msg, 'client session');
    }
  }

  private answer(to: ReplyHandle | undefined, work: Promise<ClientReply>): void {
    const done = (): void => {
      this.callsRunning--;
      this.lastCallAt = this.ctx.now();
      this.armIdle();
    };
    work.finally(done).then(
      (r) => to && this.ctx.replyTo(to, r),
      (err: unknown) => to && this.ctx.replyTo(to, { ok: false, error: { code: 'UNAVAILABLE', message: err instanceof Error ? err.message : String(err) } }),
    );
  }

  /** Events buffered are taken at once; with `waitMs` and none, the take is held for the next one (or answered empty then). */
  private takeEvents(waitMs: number | undefined): void {
    const to = this.ctx.replyHandle();
    if (this.events.length > 0 || !(waitMs !== undefined && waitMs > 0) || this.heldTakes.length >= MAX_HELD_TAKES || to === undefined) return this.ctx.reply(this.events.take());
    const id = this.nextTakeId++;
    this.heldTakes.push({ id, to });
    this.ctx.setTimer(`take-${id}`, waitMs, { type: 'watchTimeout', id });
  }

  /** Events just arrived: the oldest held take gets them at once. */
  private pushEvents(): void {
    if (this.events.length === 0) return;
    const held = this.heldTakes.shift();
    if (held === undefined) return;
    this.ctx.cancelTimer(`take-${held.id}`);
    this.ctx.replyTo(held.to, this.events.take());
  }

  // ---- requests to the master ----

  /**
   * Asks every server who the master is and takes the first name given (a wrong one costs a
   * NOT_MASTER and another search); undefined once every server has answered without one. Waiting
   * for all answers would wait out the request timeout of any server that is cut off.
   */
  private findMaster(): Promise<ActorRef<ServerMsg> | undefined> {
    return new Promise((resolve) => {
      let unanswered = this.props.servers.length;
      if (unanswered === 0) resolve(undefined);
      for (const s of this.props.servers) {
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
  private async toMaster<R>(make: () => ServerMsg, timeoutMs: number, retryable: boolean): Promise<ServerReply<R>> {
    const backoff = new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
    let reason = 'no master found';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const closed = this.state === 'jeopardy' || this.state === 'expired' || this.state === 'closed' ? await this.outOfJeopardy() : undefined;
      if (closed) return closed;
      this.master ??= await this.findMaster();
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
      await this.ctx.sleep(backoff.next(Infinity));
    }
    return { ok: false, error: { code: 'UNAVAILABLE', message: `no master took the request after ${MAX_ATTEMPTS} attempts: ${reason}` } };
  }

  /** Waits while the session is in jeopardy; the refusal if it may not be used (any more). */
  private async outOfJeopardy(): Promise<ServerReply<never> | undefined> {
    if (this.state === 'jeopardy') {
      if (this.heldInJeopardy.length >= MAX_CALLS_IN_JEOPARDY) return { ok: false, error: { code: 'UNAVAILABLE', message: `session ${this.session} is in jeopardy and ${MAX_CALLS_IN_JEOPARDY} calls already wait for it to end` } };
      await new Promise<void>((resume) => this.heldInJeopardy.push(resume));
    }
    if (this.state === 'expired' || this.state === 'closed') return { ok: false, error: { code: 'SESSION_EXPIRED', message: `session ${this.session} is ${this.state}` } };
    return undefined;
  }

  private op<R>(o: ClientOp, secret = this.secret): Promise<ServerReply<R>> {
    return this.toMaster<R>(() => ({ type: 'op', op: o, ...auth(secret) }), this.opTimeoutMs, false);
  }

  private query<R>(q: LsQuery, cache?: { session: SessionId; path: string }): Promise<QueryReply<R>> {
    const secret = this.secret;
    return this.toMaster<R>(() => ({ type: 'query', query: q, ...auth(secret), ...(cache ? { cache } : {}) }), this.t.requestTimeoutMs, true);
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
  private async acquireLock(s: SessionId, req: AcquireRequest, timeoutMs: number | undefined): Promise<ClientReply> {
    // A grant changes the node's stat (lock generation). The master invalidates other sessions'
    // copies, not the acquirer's own: that one goes here, as a writer's does.
    const path = this.handles.get(req.handle);
    if (path !== undefined) this.cache.forget(path);
    const secret = this.secret;
    const acquire = { session: s, handle: req.handle, mode: req.mode, ...(req.lockDelayMs === undefined ? {} : { lockDelayMs: req.lockDelayMs }) };
    let attempt = this.nextAttempt++;
    const deadline = this.ctx.now() + (timeoutMs ?? 0);
    const backoff = new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
    let blocking = timeoutMs !== undefined;
    for (let round = 1; ; round++) {
      const left = (): number => Math.max(0, deadline - this.ctx.now());
      const r = blocking
        ? await this.toMaster(() => ({ type: 'acquire', ...auth(secret), ...acquire, attempt, timeoutMs: left() }), left() + this.opTimeoutMs, false)
        : await this.toMaster(() => ({ type: 'op', op: { type: 'acquire', ...acquire, attempt, final: true }, ...auth(secret) }), this.opTimeoutMs, false);
      if (!r.ok && r.error.code === 'UNAVAILABLE' && round < MAX_ATTEMPTS) {
        blocking = false;
        await this.ctx.sleep(backoff.next(Infinity));
        continue;
      }
      const refused = !r.ok && (r.error.code === 'LOCK_HELD' || r.error.code === 'LOCK_DELAY' || r.error.code === 'ATTEMPT_DECIDED');
      if (!refused || timeoutMs === undefined || blocking) return r;
      if (this.ctx.now() >= deadline) return { ok: false, error: { code: 'TIMEOUT', message: `the lock was not granted within the acquire's timeout (${timeoutMs} ms)` } };
      [attempt, blocking] = [this.nextAttempt++, true];
    }
  }

  // ---- the session ----

  private async openSession(): Promise<SessionId | undefined> {
    const open = { type: 'openSession' as const, principal: this.props.principal };
    let sentAt = this.ctx.now();
    let r = await this.op<LsResults['openSession']>(open);
    // An open whose outcome is unknown is tried again: a session opened but never heard of expires unused.
    for (let retry = 0; retry < MAX_OPEN_RETRIES && !r.ok && r.error.code === 'UNAVAILABLE'; retry++) {
      sentAt = this.ctx.now();
      r = await this.op<LsResults['openSession']>(open);
    }
    if (!r.ok) {
      this.state = 'expired';
      this.ctx.log.warn('could not open a session', { error: r.error.message });
      return undefined;
    }
    this.session = r.result.session;
    this.secret = r.result.secret;
    this.lease = new ClientLease(sentAt, this.t.leaseMs, { driftMs: this.t.driftMs, gracePeriodMs: this.t.gracePeriodMs });
    this.state = 'live';
    this.ctx.send(this.ctx.self, { type: 'sendKeepAlive' });
    this.armIdle();
    return this.session;
  }

  /** Chubby's client ends a session with no open handles and no call for a while; the next call opens another. */
  private armIdle(): void {
    if (this.t.idleSessionMs > 0 && this.state === 'live' && this.handles.size === 0 && this.callsRunning === 0) this.ctx.setTimer('idle', this.t.idleSessionMs, { type: 'idleCheck' });
  }

  private endIfIdle(): void {
    if (this.state !== 'live' || this.handles.size > 0 || this.callsRunning > 0 || this.ctx.now() - this.lastCallAt < this.t.idleSessionMs || this.session === undefined) return;
    const s = this.session;
    [this.state, this.session, this.lease] = ['idle', undefined, undefined];
    this.cache.flush();
    this.ctx.cancelTimer('lease');
    this.ctx.cancelTimer('keepAlive');
    // Unanswered, the session still ends: no KeepAlive keeps it, so its lease runs out.
    void this.op({ type: 'closeSession', session: s });
  }

  /** A cached copy is served only while the session is live and its local lease runs (the master waits that out). */
  private cached(path: string): CachedFile | undefined {
    return this.state === 'live' && this.lease !== undefined && this.ctx.now() < this.lease.leaseEndsAt ? this.cache.get(path) : undefined;
  }

  // ---- KeepAlive ----

  private sendKeepAlive(): void {
    if (this.session === undefined || this.state === 'expired' || this.state === 'closed') return;
    const [session, secret, sentAt, acks, seen] = [this.session, this.secret, this.ctx.now(), this.acks, this.received.seen];
    this.acks = [];
    // After a failure the client does not know the lease the master last granted: it asks for an answer at once.
    const answerNow = this.keepAliveFailures > 0;
    const timeoutMs = keepAliveWaitMs(sentAt, this.lease && this.state === 'live' ? this.lease.leaseEndsAt : undefined, answerNow, this.t);
    const msg = { type: 'keepAlive' as const, session, ...auth(secret), acks, ...(answerNow ? { answerNow } : {}), ...(seen ? { seen } : {}) };
    (async () => {
      this.master ??= await this.findMaster();
      return this.master === undefined ? null : this.ctx.ask(this.master, msg, { timeoutMs });
    })().then(
      (reply) => this.ctx.send(this.ctx.self, { type: 'keepAliveDone', session, sentAt, acks, reply }),
      () => this.ctx.send(this.ctx.self, { type: 'keepAliveDone', session, sentAt, acks, reply: null }),
    );
  }

  private onKeepAlive(sentAt: number, sentAcks: number[], reply: KeepAliveReply | null): void {
    const lease = this.lease;
    if (!lease) return;
    if (reply === null || (!reply.ok && reply.reason === 'notMaster')) return this.keepAliveFailed(lease, sentAcks, reply === null);
    this.keepAliveFailures = 0;
    this.keepAliveBackoff.reset();
    if (!reply.ok) return this.runLease(lease.step({ type: 'ended' }, this.ctx.now()));
    const heard = this.received.receive(reply);
    const events: MasterEvent[] = [];
    for (const e of heard.events) {
      if (e.type === 'invalidate') {
        this.cache.forget(e.path);
        this.acks.push(e.id);
      } else events.push(e);
    }
    if (heard.lost) this.events.markLost();
    if (heard.failover) {
      // The old master's events not yet heard are gone with it: this is what the client gets instead.
      this.cache.flush();
      for (const handle of this.failoverWatchers) this.events.emit({ session: this.session!, handle, kind: 'masterFailover', path: this.handles.get(handle)! });
    }
    const answered = { type: 'answered' as const, sentAt: sentAt + reply.heldMs, leaseRemainingMs: reply.leaseRemainingMs, events, eventsLost: heard.lost, failover: reply.failover };
    this.runLease(lease.step(answered, this.ctx.now()));
  }

  /** No answer (`lost`), or refused as not the master. */
  private keepAliveFailed(lease: ClientLease<MasterEvent>, sentAcks: number[], lost: boolean): void {
    const now = this.ctx.now();
    // The master may not have heard the acknowledgements: they go again (copies are harmless).
    this.acks = sentAcks.concat(this.acks);
    // A KeepAlive lost once goes again at once; after that, or when refused, look for the master.
    this.keepAliveFailures++;
    // Its answer may have been lost with invalidations: the next answer extends the lease, so
    // cached copies go now (the master waits out the old lease).
    if (lost) this.cache.flush();
    if (!lost || this.keepAliveFailures > 1) this.master = undefined;
    if (this.keepAliveFailures > 1) this.ctx.setTimer('keepAlive', this.keepAliveBackoff.next(lease.remainingMs(now)), { type: 'sendKeepAlive' });
    else this.sendKeepAlive();
    this.runLease(lease.step({ type: 'tick' }, now));
  }

  private runLease(effects: ClientLeaseEffect<MasterEvent>[]): void {
    for (const e of effects) this.leaseEffect(e);
    this.pushEvents();
    const next = this.lease?.nextWakeAt();
    if (next !== undefined) this.ctx.setTimer('lease', Math.max(0, next - this.ctx.now()), { type: 'wake' });
  }

  private leaseEffect(e: ClientLeaseEffect<MasterEvent>): void {
    switch (e.type) {
      case 'sendKeepAlive':
        return this.sendKeepAlive();
      case 'deliver':
        for (const m of e.events) if (m.type === 'event') this.events.emit(m.event as LsEvent);
        return;
      case 'flushCache':
        return this.cache.flush();
      case 'jeopardy':
        this.state = 'jeopardy';
        return this.events.emit({ kind: 'jeopardy' });
      case 'safe':
        this.state = 'live';
        this.events.emit({ kind: 'safe', failover: e.failover });
        return this.resumeHeld();
      case 'expired':
        this.state = 'expired';
        this.cache.flush();
        this.events.emit({ kind: 'expired' });
        return this.resumeHeld();
      default:
        return unreachable(e, 'client lease');
    }
  }

  private resumeHeld(): void {
    this.heldInJeopardy.splice(0).forEach((resume) => resume());
  }

  // ---- the application's calls ----

  private async call(req: ClientRequest): Promise<ClientReply> {
    if (this.state === 'idle') [this.state, this.opening] = ['opening', this.openSession()];
    const s = await this.opening;
    if (s === undefined || this.state === 'expired' || this.state === 'closed') return { ok: false, error: { code: 'SESSION_EXPIRED', message: `the session is ${this.state}` } };
    switch (req.type) {
      case 'open':
        return this.open(s, req);
      case 'close':
      case 'delete':
      case 'release':
        return this.onHandle(s, req);
      case 'getContentsAndStat':
        return this.read(s, req.handle);
      case 'setContents':
        return this.write(s, req);
      case 'readdir':
      case 'stat':
      case 'getSequencer':
        return this.query({ type: req.type, session: s, handle: req.handle });
      case 'checkSequencer':
        return this.query({ type: 'checkSequencer', sequencer: req.sequencer });
      case 'tryAcquire':
        return this.acquireLock(s, req, undefined);
      case 'acquire':
        return this.acquireLock(s, req, req.timeoutMs);
      case 'closeSession':
        return this.closeSession(s);
      default:
        return unreachable(req, 'client request');
    }
  }

  private async open(s: SessionId, req: Extract<ClientRequest, { type: 'open' }>): Promise<ClientReply> {
    const r = await this.op<LsResults['open']>({ type: 'open', session: s, ...withoutType(req), create: req.create ?? 'never' });
    if (r.ok) this.handles.set(r.result.handle, r.result.stat.path);
    if (r.ok && req.events?.includes('masterFailover')) this.failoverWatchers.add(r.result.handle);
    return r;
  }

  /** close, delete and release: ops on a handle whose answer the application sees as empty. */
  private async onHandle(s: SessionId, req: Extract<ClientRequest, { type: 'close' | 'delete' | 'release' }>): Promise<ClientReply> {
    const path = this.pathOf(req.handle);
    if (typeof path !== 'string') return path;
    if (req.type === 'delete') this.cache.forget(path);
    const r = await this.op({ type: req.type, session: s, handle: req.handle });
    if (r.ok && req.type !== 'release') this.forget(req.handle);
    return r.ok ? { ok: true, result: {} } : r;
  }

  private async read(s: SessionId, handle: number): Promise<ClientReply> {
    const path = this.pathOf(handle);
    if (typeof path !== 'string') return path;
    const hit = this.cached(path);
    if (hit) return { ok: true, result: { ...hit, cached: true } };
    const r = await this.cacheAnswer(path, () => this.query<CachedFile>({ type: 'getContentsAndStat', session: s, handle }, { session: s, path }), (file) => file);
    return r.ok ? { ok: true, result: { ...r.result, cached: false } } : r;
  }

  private async write(s: SessionId, req: Extract<ClientRequest, { type: 'setContents' }>): Promise<ClientReply> {
    const path = this.pathOf(req.handle);
    if (typeof path !== 'string') return path;
    this.cache.forget(path);
    const op: ClientOp = { type: 'setContents', session: s, ...withoutType(req), attempt: this.nextAttempt++ };
    const write = () => this.untilKnown(() => this.op<LsResults['setContents']>(op)) as Promise<QueryReply<LsResults['setContents']>>;
    return this.cacheAnswer(path, write, ({ stat }) => ({ contents: req.contents, stat }));
  }

  /**
   * Asks a request that names its attempt again while its outcome is unknown (UNAVAILABLE: no
   * answer, or none from the master's Paxos group), with the same attempt: the database answers a
   * copy of an attempt it applied as it answered the first, so the request is applied once.
   */
  private async untilKnown<R>(ask: () => Promise<ServerReply<R>>): Promise<ServerReply<R>> {
    const backoff = new RetryBackoff(requestRetryTiming(this.t.leaseMs), this.random);
    for (let round = 1; ; round++) {
      const r = await ask();
      if (r.ok || r.error.code !== 'UNAVAILABLE' || round >= MAX_ATTEMPTS) return r;
      await this.ctx.sleep(backoff.next(Infinity));
    }
  }

  /**
   * Asks for a copy of `path` (a read, or a write whose value the client keeps) and caches what
   * the answer gives, if the master says it may be cached and nothing changed the file while the
   * answer was on its way: an invalidation, a flush, or another write of this client's own.
   */
  private async cacheAnswer<R>(path: string, ask: () => Promise<QueryReply<R>>, copyOf: (result: R) => CachedFile): Promise<QueryReply<R>> {
    const incoming = this.cache.expect(path);
    let value: CachedFile | undefined;
    try {
      const r = await ask();
      if (r.ok && r.cacheable && this.state === 'live') value = copyOf(r.result);
      return r;
    } finally {
      this.cache.arrived(incoming, value);
    }
  }

  private async closeSession(s: SessionId): Promise<ClientReply> {
    const r = await this.op({ type: 'closeSession', session: s });
    if (!r.ok) return r;
    this.state = 'closed';
    this.cache.flush();
    this.ctx.cancelTimer('lease');
    return { ok: true, result: {} };
  }

  private forget(handle: number): void {
    this.handles.delete(handle);
    this.failoverWatchers.delete(handle);
  }

  private pathOf(handle: number): string | ClientReply {
    return this.handles.get(handle) ?? { ok: false, error: { code: 'HANDLE_UNKNOWN', message: `handle ${handle} is not open in this session` } };
  }
}

function withoutType<T extends { type: string }>(req: T): Omit<T, 'type'> {
  const { type: _, ...rest } = req;
  return rest;
}
