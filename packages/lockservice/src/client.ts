import { defineActor, type ActorContext, type ActorRef, type Behavior, type ReplyHandle } from '@actorfs/actors';
import type { CellConfig, CellTiming } from './cell.ts';
import { ClientCache } from './client-cache.ts';
import { EventBuffer } from './client-events.ts';
import { ClientLease, keepAliveWaitMs, type ClientLeaseEffect } from './client-lease.ts';
import type { ClientMsg, ClientReply, ClientRequest, ClientStatus } from './client-protocol.ts';
import { ClientHandles } from './client-handles.ts';
import { auth, MasterLink, type AcquireRequest, type QueryReply } from './client-requests.ts';
import { EventReceiver } from './event-receiver.ts';
import { EventTakes } from './event-takes.ts';
import { shareView, withdrawView, type CachedFile, type LocalView } from './local-view.ts';
import type { LsEvent, LsQuery, LsResults, SessionId } from './protocol.ts';
import { keepAliveRetryTiming, RetryBackoff } from './retry-backoff.ts';
import type { ClientOp, KeepAliveReply, MasterEvent, ServerMsg, ServerReply } from './server-protocol.ts';
import { STARTED } from './server.ts';
import { unreachable } from './unreachable.ts';

export { MAX_CACHED_FILES } from './client-cache.ts';
export { MAX_BUFFERED_EVENTS } from './client-events.ts';
export { MAX_HELD_TAKES } from './event-takes.ts';

/** Tries at opening the session again after an unknown outcome. */
const MAX_OPEN_RETRIES = 5;
/** Calls held while the session is in jeopardy at most; one more is refused (UNAVAILABLE) at once. */
export const MAX_CALLS_IN_JEOPARDY = 10_000;

export interface ClientProps {
  config: CellConfig;
  servers: ActorRef<ServerMsg>[];
  principal: string;
}

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
  private readonly link: MasterLink;
  private session: SessionId | undefined;
  /** Shown with every request for the session: only its opener may act on it. */
  private secret: string | undefined;
  private lease: ClientLease<MasterEvent> | undefined;
  private state: ClientStatus['state'] = 'opening';
  private readonly handles: ClientHandles;
  private readonly received = new EventReceiver<MasterEvent>();
  private readonly cache = new ClientCache();
  private readonly events = new EventBuffer();
  private acks: number[] = [];
  private keepAliveFailures = 0;
  private readonly random = (): number => this.ctx.random();
  private readonly keepAliveBackoff: RetryBackoff;
  /** Requests held until jeopardy ends (safe or expired), as Chubby's library holds them. */
  private readonly heldInJeopardy: Array<() => void> = [];
  private readonly takes: EventTakes;
  private callsRunning = 0;
  /** Names each acquire and write call of this actor (the database's `attempt`), for asking again after an unknown outcome. */
  private nextAttempt = 1;
  private lastCallAt: number;
  private withdrawn = false;
  private readonly view: LocalView = {
    read: (handle) => {
      const path = this.withdrawn ? undefined : this.handles.path(handle);
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
    this.takes = new EventTakes(ctx, this.events);
    this.handles = new ClientHandles(this.cache, {
      op: (o) => this.op(o),
      query: (q, cache) => this.query(q, cache),
      untilKnown: (ask) => this.link.untilKnown(ask),
      nextAttempt: () => this.nextAttempt++,
      live: () => this.state === 'live',
      cached: (path) => this.cached(path),
    });
    this.link = new MasterLink(ctx, props.servers, this.t, this.random, {
      usable: () => (this.state === 'jeopardy' || this.state === 'expired' || this.state === 'closed' ? this.outOfJeopardy() : undefined),
      nextAttempt: () => this.nextAttempt++,
    });
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
        return this.takes.take(msg.waitMs);
      case 'watchTimeout':
        return this.takes.timedOut(msg.id);
      case 'status':
        return this.ctx.reply({ session: this.session ?? null, state: this.state, master: this.link.master?.node ?? null, cached: this.cache.size } satisfies ClientStatus);
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

  /** Answers a call once its work settles (one reaction, not a `finally` and a `then`: this runs for every call). */
  private answer(to: ReplyHandle | undefined, work: Promise<ClientReply>): void {
    work.then(
      (r) => this.callEnded(to, r),
      (err: unknown) => this.callEnded(to, { ok: false, error: { code: 'UNAVAILABLE', message: err instanceof Error ? err.message : String(err) } }),
    );
  }

  private callEnded(to: ReplyHandle | undefined, reply: ClientReply): void {
    this.callsRunning--;
    this.lastCallAt = this.ctx.now();
    this.armIdle();
    if (to) this.ctx.replyTo(to, reply);
  }

  // ---- requests to the master ----

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
    return this.link.op<R>(o, secret);
  }

  private query<R>(q: LsQuery, cache?: { session: SessionId; path: string }): Promise<QueryReply<R>> {
    return this.link.query<R>(q, this.secret, cache);
  }

  /** An acquire (`timeoutMs` undefined: a try), asked again under its attempt while its outcome is unknown (MasterLink.acquire). */
  private acquireLock(s: SessionId, req: AcquireRequest, timeoutMs: number | undefined): Promise<ClientReply> {
    // A grant changes the node's stat (lock generation). The master invalidates other sessions'
    // copies, not the acquirer's own: that one goes here, as a writer's does.
    const path = this.handles.path(req.handle);
    if (path !== undefined) this.cache.forget(path);
    return this.link.acquire(s, this.secret, req, timeoutMs);
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
      const master = (this.link.master ??= await this.link.find());
      return master === undefined ? null : this.ctx.ask(master, msg, { timeoutMs });
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
      for (const handle of this.handles.failoverWatchers) this.events.emit({ session: this.session!, handle, kind: 'masterFailover', path: this.handles.path(handle)! });
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
    if (!lost || this.keepAliveFailures > 1) this.link.master = undefined;
    if (this.keepAliveFailures > 1) this.ctx.setTimer('keepAlive', this.keepAliveBackoff.next(lease.remainingMs(now)), { type: 'sendKeepAlive' });
    else this.sendKeepAlive();
    this.runLease(lease.step({ type: 'tick' }, now));
  }

  private runLease(effects: ClientLeaseEffect<MasterEvent>[]): void {
    for (const e of effects) this.leaseEffect(e);
    this.takes.push();
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

  private call(req: ClientRequest): Promise<ClientReply> {
    if (this.state === 'idle') [this.state, this.opening] = ['opening', this.openSession()];
    // A live session runs the call now, without waiting a turn on its opening, long settled (a
    // throw, as for an unknown request, fails the call as it would after the wait).
    if (this.state === 'live' && this.session !== undefined) {
      try {
        return this.run(this.session, req);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.opening.then((s) =>
      s === undefined || this.state === 'expired' || this.state === 'closed' ? { ok: false, error: { code: 'SESSION_EXPIRED', message: `the session is ${this.state}` } } : this.run(s, req),
    );
  }

  private run(s: SessionId, req: ClientRequest): Promise<ClientReply> {
    switch (req.type) {
      case 'open':
        return this.handles.open(s, req);
      case 'close':
      case 'delete':
      case 'release':
        return this.handles.onHandle(s, req);
      case 'getContentsAndStat':
        return this.handles.read(s, req.handle);
      case 'setContents':
        return this.handles.write(s, req);
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

  private async closeSession(s: SessionId): Promise<ClientReply> {
    const r = await this.op({ type: 'closeSession', session: s });
    if (!r.ok) return r;
    this.state = 'closed';
    this.cache.flush();
    this.ctx.cancelTimer('lease');
    return { ok: true, result: {} };
  }
}
