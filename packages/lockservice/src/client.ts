import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import type { CellConfig } from './cell.ts';
import { ClientLease, keepAliveWaitMs, type ClientLeaseEffect } from './client-lease.ts';
import type { ClientEvent, ClientMsg, ClientReply, ClientRequest, ClientStatus } from './client-protocol.ts';
import type { LockMode, LsEvent, LsQuery, LsResults, SessionId, Stat } from './protocol.ts';
import type { ClientOp, KeepAliveReply, MasterEvent, ServerMsg, ServerReply } from './server-protocol.ts';
import { MASTER_ATTEMPTS, STARTED } from './server.ts';
import { unreachable } from './unreachable.ts';
import { EventReceiver } from './event-receiver.ts';
import { shareView, withdrawView, type CachedFile, type LocalView } from './local-view.ts';
import { keepAliveRetryTiming, requestRetryTiming, RetryBackoff } from './retry-backoff.ts';

/** Files whose contents a session caches at most; the oldest goes first. */
export const MAX_CACHED_FILES = 10_000;
/** Events kept for the application at most; past it the oldest are dropped and the next take says so. */
export const MAX_BUFFERED_EVENTS = 10_000;
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

type Cached = CachedFile;

/**
 * One client session: opens it at the master, keeps it alive (one KeepAlive always held at the
 * master; `ClientLease` for jeopardy and the grace period, finding a new master after a
 * failover), caches file contents and stat write-through, and runs the application's requests.
 * A cached copy is dropped when the master's invalidation arrives (acknowledged with the next
 * KeepAlive, before the other client's write commits), in jeopardy, and after a failover.
 */
export const ClientSession = defineActor('lockservice.client', (props: ClientProps, ctx: ActorContext<ClientMsg>) => {
  const t = props.config.timing;
  let master: ActorRef<ServerMsg> | undefined;
  let session: SessionId | undefined;
  /** Shown with every request for the session: only its opener may act on it. */
  let secret: string | undefined;
  const auth = (sec: string | undefined): { secret?: string } => (sec === undefined ? {} : { secret: sec });
  let lease: ClientLease<MasterEvent> | undefined;
  let state: ClientStatus['state'] = 'opening';
  const handles = new Map<number, string>();
  /** Handles subscribed to "master failed over". */
  const failoverWatchers = new Set<number>();
  const received = new EventReceiver<MasterEvent>();
  const cache = new Map<string, Cached>();
  /** Bumped by every invalidation and flush: a read that saw it change while in flight is not cached. */
  let epoch = 0;
  let acks: number[] = [];
  let keepAliveFailures = 0;
  const random = (): number => ctx.random();
  const keepAliveBackoff = new RetryBackoff(keepAliveRetryTiming(t.leaseMs), random);
  let buffered: ClientEvent[] = [];
  let lost = false;
  /** Requests held until jeopardy ends (safe or expired), as Chubby's library holds them. */
  const heldInJeopardy: Array<() => void> = [];
  /** Takes of events waiting for the next one, oldest first (each with its timeout timer's id). */
  const heldTakes: Array<{ id: number; to: ReplyHandle }> = [];
  let nextTakeId = 1;
  let callsRunning = 0;
  /** Names each acquire call of this actor (the database's `attempt`), for asking again after an unknown outcome. */
  let nextAttempt = 1;
  let lastCallAt = ctx.now();

  const emit = (e: ClientEvent): void => {
    if (buffered.length >= MAX_BUFFERED_EVENTS) {
      buffered.shift();
      lost = true;
    }
    buffered.push(e);
  };
  const take = (): { events: ClientEvent[]; lost: boolean } => {
    const out = { events: buffered, lost };
    [buffered, lost] = [[], false];
    return out;
  };
  /** Events just arrived: the oldest held take gets them at once. */
  const pushEvents = (): void => {
    if (buffered.length === 0) return;
    const held = heldTakes.shift();
    if (held === undefined) return;
    ctx.cancelTimer(`take-${held.id}`);
    ctx.replyTo(held.to, take());
  };
  const flush = (): void => {
    cache.clear();
    epoch++;
  };
  /** A cached copy is served only while the session is live and its local lease runs (the master waits that out). */
  const cached = (path: string): Cached | undefined => (state === 'live' && lease !== undefined && ctx.now() < lease.leaseEndsAt ? cache.get(path) : undefined);
  let withdrawn = false;
  const view: LocalView = {
    read: (handle) => {
      const path = withdrawn ? undefined : handles.get(handle);
      return path === undefined ? undefined : cached(path);
    },
  };
  shareView(ctx.self, view);
  const remember = (path: string, value: Cached): void => {
    cache.delete(path);
    if (cache.size >= MAX_CACHED_FILES) cache.delete(cache.keys().next().value!);
    cache.set(path, value);
  };

  async function findMaster(): Promise<ActorRef<ServerMsg> | undefined> {
    const answers = await Promise.all(
      props.servers.map((s) => ctx.ask(s, { type: 'whoIsMaster' }, { timeoutMs: t.requestTimeoutMs }).then((r) => r.master, () => null)),
    );
    return answers.find((m): m is ActorRef<ServerMsg> => m !== null);
  }

  /**
   * Sends a request to the master, finding it first and again after NOT_MASTER (nothing was done).
   * A timeout retries only a request that may run twice (`retryable`); otherwise it is UNAVAILABLE.
   */
  async function toMaster<R>(make: () => ServerMsg, timeoutMs: number, retryable: boolean): Promise<ServerReply<R>> {
    const backoff = new RetryBackoff(requestRetryTiming(t.leaseMs), random);
    let reason = 'no master found';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (state === 'jeopardy') {
        if (heldInJeopardy.length >= MAX_CALLS_IN_JEOPARDY) return { ok: false, error: { code: 'UNAVAILABLE', message: `session ${session} is in jeopardy and ${MAX_CALLS_IN_JEOPARDY} calls already wait for it to end` } };
        await new Promise<void>((resume) => heldInJeopardy.push(resume));
      }
      if (state === 'expired' || state === 'closed') return { ok: false, error: { code: 'SESSION_EXPIRED', message: `session ${session} is ${state}` } };
      master ??= await findMaster();
      const m = master;
      if (m !== undefined) {
        try {
          const reply = (await ctx.ask(m, make() as ServerMsg & { type: 'op' }, { timeoutMs })) as ServerReply<R>;
          if (reply.ok || reply.error.code !== 'NOT_MASTER') return reply;
          reason = reply.error.message;
        } catch (err) {
          reason = err instanceof Error ? err.message : String(err);
          if (!retryable) return { ok: false, error: { code: 'UNAVAILABLE', message: `no answer from the master ${m.node} (the request may or may not have been applied): ${reason}` } };
        }
        if (master === m) master = undefined;
      }
      await ctx.sleep(backoff.next(Infinity));
    }
    return { ok: false, error: { code: 'UNAVAILABLE', message: `no master took the request after ${MAX_ATTEMPTS} attempts: ${reason}` } };
  }

  // A write may wait up to a lease for other clients' caches to be invalidated, and the master
  // tries Paxos up to MASTER_ATTEMPTS times.
  const opTimeoutMs = t.leaseMs + (MASTER_ATTEMPTS + 1) * t.requestTimeoutMs;
  const op = <R>(o: ClientOp, sec = secret) => toMaster<R>(() => ({ type: 'op', op: o, ...auth(sec) }), opTimeoutMs, false);
  const query = <R>(q: LsQuery, cache?: { session: SessionId; path: string }, sec = secret) =>
    toMaster<R>(() => ({ type: 'query', query: q, ...auth(sec), ...(cache ? { cache } : {}) }), t.requestTimeoutMs, true) as Promise<ServerReply<R> & { cacheable?: boolean }>;

  /**
   * An acquire (`timeoutMs` undefined: a try) under an attempt number of its own. An answer that
   * leaves the outcome unknown (no answer, UNAVAILABLE) is followed by a try of the same attempt,
   * which the database answers with the grant if the attempt had it: the caller always learns
   * whether it holds the lock. A blocking acquire that learns it does not waits on for the rest
   * of its timeout.
   */
  async function acquireLock(s: SessionId, req: { handle: number; mode: LockMode; lockDelayMs?: number }, timeoutMs: number | undefined): Promise<ClientReply> {
    const sec = secret;
    const acquire = { session: s, handle: req.handle, mode: req.mode, attempt: nextAttempt++, ...(req.lockDelayMs === undefined ? {} : { lockDelayMs: req.lockDelayMs }) };
    const deadline = ctx.now() + (timeoutMs ?? 0);
    const backoff = new RetryBackoff(requestRetryTiming(t.leaseMs), random);
    let blocking = timeoutMs !== undefined;
    for (let round = 1; ; round++) {
      const r = blocking
        ? await toMaster(() => ({ type: 'acquire', ...auth(sec), ...acquire, timeoutMs: Math.max(0, deadline - ctx.now()) }), Math.max(0, deadline - ctx.now()) + opTimeoutMs, false)
        : await toMaster(() => ({ type: 'op', op: { type: 'acquire', ...acquire }, ...auth(sec) }), opTimeoutMs, false);
      if (!r.ok && r.error.code === 'UNAVAILABLE' && round < MAX_ATTEMPTS) {
        blocking = false;
        await ctx.sleep(backoff.next(Infinity));
        continue;
      }
      const refused = !r.ok && (r.error.code === 'LOCK_HELD' || r.error.code === 'LOCK_DELAY');
      if (!refused || timeoutMs === undefined || blocking) return r;
      if (ctx.now() >= deadline) return { ok: false, error: { code: 'TIMEOUT', message: `the lock was not granted within the acquire's timeout (${timeoutMs} ms)` } };
      blocking = true;
    }
  }

  const openSession = async (): Promise<SessionId | undefined> => {
    let sentAt = ctx.now();
    let r = await op<LsResults['openSession']>({ type: 'openSession', principal: props.principal });
    // An open whose outcome is unknown is tried again: a session opened but never heard of expires unused.
    for (let retry = 0; retry < MAX_OPEN_RETRIES && !r.ok && r.error.code === 'UNAVAILABLE'; retry++) {
      sentAt = ctx.now();
      r = await op<LsResults['openSession']>({ type: 'openSession', principal: props.principal });
    }
    if (!r.ok) {
      state = 'expired';
      ctx.log.warn('could not open a session', { error: r.error.message });
      return undefined;
    }
    session = r.result.session;
    secret = r.result.secret;
    lease = new ClientLease(sentAt, t.leaseMs, { driftMs: t.driftMs, gracePeriodMs: t.gracePeriodMs });
    state = 'live';
    ctx.send(ctx.self, { type: 'sendKeepAlive' });
    armIdle();
    return session;
  };
  let opening = openSession();

  /** Chubby's client ends a session with no open handles and no call for a while; the next call opens another. */
  function armIdle(): void {
    if (t.idleSessionMs > 0 && state === 'live' && handles.size === 0 && callsRunning === 0) ctx.setTimer('idle', t.idleSessionMs, { type: 'idleCheck' });
  }

  function endIfIdle(): void {
    if (state !== 'live' || handles.size > 0 || callsRunning > 0 || ctx.now() - lastCallAt < t.idleSessionMs || session === undefined) return;
    const s = session;
    [state, session, lease] = ['idle', undefined, undefined];
    flush();
    ctx.cancelTimer('lease');
    ctx.cancelTimer('keepAlive');
    // Unanswered, the session still ends: no KeepAlive keeps it, so its lease runs out.
    void op({ type: 'closeSession', session: s });
  }

  function sendKeepAlive(): void {
    if (session === undefined || state === 'expired' || state === 'closed') return;
    const s = session;
    const sec = secret;
    const sentAt = ctx.now();
    const sentAcks = acks;
    acks = [];
    // After a failure the client does not know the lease the master last granted: it asks for an answer at once.
    const answerNow = keepAliveFailures > 0;
    const timeoutMs = keepAliveWaitMs(sentAt, lease && state === 'live' ? lease.leaseEndsAt : undefined, answerNow, t);
    const seen = received.seen;
    (async () => {
      master ??= await findMaster();
      return master === undefined ? null : ctx.ask(master, { type: 'keepAlive', session: s, ...auth(sec), acks: sentAcks, ...(answerNow ? { answerNow } : {}), ...(seen ? { seen } : {}) }, { timeoutMs });
    })().then(
      (reply) => ctx.send(ctx.self, { type: 'keepAliveDone', session: s, sentAt, acks: sentAcks, reply }),
      () => ctx.send(ctx.self, { type: 'keepAliveDone', session: s, sentAt, acks: sentAcks, reply: null }),
    );
  }

  function onKeepAlive(sentAt: number, sentAcks: number[], reply: KeepAliveReply | null): void {
    if (!lease) return;
    const now = ctx.now();
    if (reply === null || (!reply.ok && reply.reason === 'notMaster')) {
      // The master may not have heard the acknowledgements: they go again (copies are harmless).
      acks = sentAcks.concat(acks);
      // A KeepAlive lost once goes again at once; after that, or when refused, look for the master.
      keepAliveFailures++;
      // Its answer may have been lost with invalidations the master will not send again: the next
      // answer extends the lease, so cached copies go now (the master waits out the old lease).
      if (reply === null) flush();
      if (reply !== null || keepAliveFailures > 1) master = undefined;
      if (keepAliveFailures > 1) ctx.setTimer('keepAlive', keepAliveBackoff.next(lease.remainingMs(now)), { type: 'sendKeepAlive' });
      else sendKeepAlive();
      return runLease(lease.step({ type: 'tick' }, now));
    }
    keepAliveFailures = 0;
    keepAliveBackoff.reset();
    if (!reply.ok) return runLease(lease.step({ type: 'ended' }, now));
    const heard = received.receive(reply);
    const events: MasterEvent[] = [];
    for (const e of heard.events) {
      if (e.type === 'invalidate') {
        cache.delete(e.path);
        epoch++;
        acks.push(e.id);
      } else events.push(e);
    }
    if (heard.lost) lost = true;
    if (heard.failover) {
      // The old master's events not yet heard are gone with it: this is what the client gets instead.
      flush();
      for (const handle of failoverWatchers) emit({ session: session!, handle, kind: 'masterFailover', path: handles.get(handle)! });
    }
    runLease(lease.step({ type: 'answered', sentAt: sentAt + reply.heldMs, leaseRemainingMs: reply.leaseRemainingMs, events, eventsLost: heard.lost, failover: reply.failover }, now));
  }

  function runLease(effects: ClientLeaseEffect<MasterEvent>[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'sendKeepAlive':
          sendKeepAlive();
          break;
        case 'deliver':
          for (const m of e.events) if (m.type === 'event') emit(m.event as LsEvent);
          break;
        case 'flushCache':
          flush();
          break;
        case 'jeopardy':
          state = 'jeopardy';
          emit({ kind: 'jeopardy' });
          break;
        case 'safe':
          state = 'live';
          emit({ kind: 'safe', failover: e.failover });
          heldInJeopardy.splice(0).forEach((resume) => resume());
          break;
        case 'expired':
          state = 'expired';
          flush();
          emit({ kind: 'expired' });
          heldInJeopardy.splice(0).forEach((resume) => resume());
          break;
        default:
          unreachable(e, 'client lease');
      }
    }
    pushEvents();
    const next = lease?.nextWakeAt();
    if (next !== undefined) ctx.setTimer('lease', Math.max(0, next - ctx.now()), { type: 'wake' });
  }

  function forget(handle: number): void {
    handles.delete(handle);
    failoverWatchers.delete(handle);
  }

  function pathOf(handle: number): string | ClientReply {
    return handles.get(handle) ?? { ok: false, error: { code: 'HANDLE_UNKNOWN', message: `handle ${handle} is not open in this session` } };
  }

  async function call(req: ClientRequest): Promise<ClientReply> {
    if (state === 'idle') [state, opening] = ['opening', openSession()];
    const s = await opening;
    if (s === undefined || state === 'expired' || state === 'closed') return { ok: false, error: { code: 'SESSION_EXPIRED', message: `the session is ${state}` } };
    switch (req.type) {
      case 'open': {
        const r = await op<LsResults['open']>({ type: 'open', session: s, ...withoutType(req), create: req.create ?? 'never' });
        if (r.ok) handles.set(r.result.handle, r.result.stat.path);
        if (r.ok && req.events?.includes('masterFailover')) failoverWatchers.add(r.result.handle);
        return r;
      }
      case 'close': {
        const path = pathOf(req.handle);
        if (typeof path !== 'string') return path;
        const r = await op({ type: 'close', session: s, handle: req.handle });
        if (r.ok) forget(req.handle);
        return r.ok ? { ok: true, result: {} } : r;
      }
      case 'getContentsAndStat': {
        const path = pathOf(req.handle);
        if (typeof path !== 'string') return path;
        const hit = cached(path);
        if (hit) return { ok: true, result: { ...hit, cached: true } };
        const before = epoch;
        const r = await query<{ contents: Uint8Array; stat: Stat }>({ type: 'getContentsAndStat', session: s, handle: req.handle }, { session: s, path });
        if (!r.ok) return r;
        if (r.cacheable && epoch === before && state === 'live') remember(path, r.result);
        return { ok: true, result: { ...r.result, cached: false } };
      }
      case 'setContents': {
        const path = pathOf(req.handle);
        if (typeof path !== 'string') return path;
        cache.delete(path);
        const before = epoch;
        const r = (await op<LsResults['setContents']>({ type: 'setContents', session: s, ...withoutType(req) })) as ServerReply<LsResults['setContents']> & { cacheable?: boolean };
        if (r.ok && r.cacheable && epoch === before && state === 'live') remember(path, { contents: req.contents, stat: r.result.stat });
        return r;
      }
      case 'delete':
      case 'release': {
        const path = pathOf(req.handle);
        if (typeof path !== 'string') return path;
        if (req.type === 'delete') cache.delete(path);
        const r = await op({ type: req.type, session: s, handle: req.handle });
        if (r.ok && req.type === 'delete') forget(req.handle);
        return r.ok ? { ok: true, result: {} } : r;
      }
      case 'readdir':
      case 'stat':
      case 'getSequencer':
        return query({ type: req.type, session: s, handle: req.handle });
      case 'checkSequencer':
        return query({ type: 'checkSequencer', sequencer: req.sequencer });
      case 'tryAcquire':
        return acquireLock(s, req, undefined);
      case 'acquire':
        return acquireLock(s, req, req.timeoutMs);
      case 'closeSession': {
        const r = await op({ type: 'closeSession', session: s });
        if (r.ok) {
          state = 'closed';
          flush();
          ctx.cancelTimer('lease');
        }
        return r.ok ? { ok: true, result: {} } : r;
      }
      default:
        return unreachable(req, 'client request');
    }
  }

  const answer = (to: ReplyHandle | undefined, work: Promise<ClientReply>): void => {
    const done = (): void => {
      callsRunning--;
      lastCallAt = ctx.now();
      armIdle();
    };
    work.finally(done).then(
      (r) => to && ctx.replyTo(to, r),
      (err: unknown) => to && ctx.replyTo(to, { ok: false, error: { code: 'UNAVAILABLE', message: err instanceof Error ? err.message : String(err) } }),
    );
  };

  const receive = (msg: ClientMsg): void | Promise<void> => {
    switch (msg.type) {
      case 'call':
        callsRunning++;
        lastCallAt = ctx.now();
        answer(ctx.replyHandle(), call(msg.req));
        return STARTED;
      case 'takeEvents': {
        const to = ctx.replyHandle();
        if (buffered.length > 0 || !(msg.waitMs !== undefined && msg.waitMs > 0) || heldTakes.length >= MAX_HELD_TAKES || to === undefined) return ctx.reply(take());
        const id = nextTakeId++;
        heldTakes.push({ id, to });
        ctx.setTimer(`take-${id}`, msg.waitMs, { type: 'watchTimeout', id });
        return;
      }
      case 'watchTimeout': {
        const i = heldTakes.findIndex((h) => h.id === msg.id);
        if (i >= 0) ctx.replyTo(heldTakes.splice(i, 1)[0]!.to, take());
        return;
      }
      case 'status':
        return ctx.reply({ session: session ?? null, state, master: master?.node ?? null, cached: cache.size } satisfies ClientStatus);
      case 'sendKeepAlive':
        return sendKeepAlive();
      case 'keepAliveDone':
        // An answer for a session ended for idleness is not for the one opened since.
        if (msg.session !== undefined && msg.session !== session) return;
        return onKeepAlive(msg.sentAt, msg.acks, msg.reply);
      case 'idleCheck':
        return endIfIdle();
      case 'wake':
        if (lease) runLease(lease.step({ type: 'tick' }, ctx.now()));
        return;
      default:
        return unreachable(msg, 'client session');
    }
  };
  const stopped = (): void => {
    withdrawn = true;
    withdrawView(ctx.self, view);
  };
  return { receive, stopped };
});

function withoutType<T extends { type: string }>(req: T): Omit<T, 'type'> {
  const { type: _, ...rest } = req;
  return rest;
}
