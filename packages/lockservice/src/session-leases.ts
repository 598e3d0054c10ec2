/**
 * The master's session leases, as a pure core: `step(input, now)` returns effects, and
 * `nextWakeAt()` says when to tick next; the host actor owns the clock, the timer and the
 * network. Leases live only in the master's memory, as in Chubby: the database learns of an
 * expiry only when the master proposes `expireSession`.
 *
 * - A KeepAlive is held until the session's lease is `answerBeforeEndMs` from its end (a new
 *   session's first one is answered at once), then
 *   answered with a fresh lease (`leaseMs` from now); the client sends the next one at once, so
 *   a live client always has one held here.
 * - Events for a session answer its held KeepAlive early; without one they wait. Each answer
 *   carries every event the client has not acknowledged (`UnackedEvents`: at least once, in
 *   commit order, at most `maxPendingEvents` per session, then a loss mark that makes the client
 *   drop its cache and read afresh); a KeepAlive's `ack` says which it heard.
 * - A new master extends every session by the lease and the grace period, so clients that
 *   reach it within their grace period carry on (no lease the old master granted outlasts
 *   that). It answers each session's first KeepAlive at once, with `failover` set until the client
 *   acknowledges an answer of this master (it hears "master failed over" and leaves jeopardy), and
 *   from then on grants normal leases. The old master's unacknowledged events are gone with it:
 *   "master failed over" is what the client gets instead, as in Chubby.
 * - A session whose lease ends with no KeepAlive held is expired (`proposeExpire`); if that
 *   proposal fails (`expireFailed`: no answer, outcome unknown), it is proposed again
 *   EXPIRE_RETRY_MS later, for as long as this master's term lasts. One is in flight at a time.
 */
import type { SessionId } from './protocol.ts';
import { DueHeap } from './due-heap.ts';
import { UnackedEvents } from './unacked-events.ts';
import { unreachable } from './unreachable.ts';

export interface LeaseTiming {
  /** Session lease. Chubby's default: 12 s. */
  leaseMs: number;
  /** A held KeepAlive is answered this long before the lease ends (network and scheduling slack). */
  answerBeforeEndMs: number;
  /** How long a client in jeopardy waits for a master before it gives its session up. Default 45 s. */
  gracePeriodMs: number;
  /** Events kept per session until the client acknowledges them. */
  maxPendingEvents: number;
}

/** A failed expiry is proposed again after this long (the proposal itself took up to a few request timeouts). */
export const EXPIRE_RETRY_MS = 1_000;

export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseMs: 12_000, answerBeforeEndMs: 1_000, gracePeriodMs: 45_000, maxPendingEvents: 1_000 };

export type LeaseInput<R, E> =
  /** This node's proposer became leader; `sessions` are the live ones in the database. */
  | { type: 'becameMaster'; sessions: SessionId[] }
  | { type: 'lostMastership' }
  /** A session opened in the database under this master (heard from the open's answer or the database's note; either may be lost). */
  | { type: 'sessionOpened'; session: SessionId }
  /** A live session this master did not read when it started (its own open, whose answer it did not hear): taken over as those were. */
  | { type: 'sessionFound'; session: SessionId }
  /** The database closed or expired the session. */
  | { type: 'sessionEnded'; session: SessionId }
  /** The proposed expiry failed without an answer from the database: it may not have been applied. */
  | { type: 'expireFailed'; session: SessionId }
  /**
   * A KeepAlive arrived; `from` is whatever the host needs to answer it. `answerNow`: a client's
   * retry, answered at once. `ack`: the number of the last event the client heard from this
   * master (undefined: it has heard no answer of this master yet).
   */
  | { type: 'keepAlive'; session: SessionId; from: R; answerNow?: boolean; ack?: number }
  /** Committed events for the session (in commit order). */
  | { type: 'events'; session: SessionId; events: E[] }
  | { type: 'tick' };

export type LeaseEffect<R, E> =
  /** `events` are numbered from `firstSeq`, one apart. */
  | { type: 'answer'; to: R; session: SessionId; leaseRemainingMs: number; events: E[]; firstSeq: number; eventsLost: boolean; failover: boolean }
  | { type: 'refuse'; to: R; session: SessionId; reason: 'unknownSession' | 'sessionExpired' | 'notMaster' }
  | { type: 'proposeExpire'; session: SessionId };

interface Lease<R, E> {
  deadline: number;
  held: R | null;
  events: UnackedEvents<E>;
  /** Taken over from an old master, and no answer of this master acknowledged yet. */
  failoverOwed: boolean;
  /** Its expiry is proposed: no more KeepAlives for it. */
  expiring: boolean;
  /** Its expiry failed: proposed again at this time. */
  retryExpireAt: number | undefined;
  /** Taken over from an old master and not yet answered: the deadline is a wait, not a lease granted. */
  takenOver: boolean;
  /**
   * No KeepAlive answered yet: the first is answered at once. The client counts its first lease
   * from when it sent openSession, before the master's began; held to the master's, the answer
   * would come after the client's lease ended.
   */
  fresh: boolean;
}

export class SessionLeases<R, E> {
  private master = false;
  private readonly leases = new Map<SessionId, Lease<R, E>>();
  /** When each lease is next due (its held KeepAlive answered, or it expires): ticks cost what falls due, not every session. */
  private dues = new DueHeap<SessionId>();

  constructor(readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING) {}

  step(input: LeaseInput<R, E>, now: number): LeaseEffect<R, E>[] {
    const effects: LeaseEffect<R, E>[] = [];
    switch (input.type) {
      case 'becameMaster':
        this.master = true;
        this.leases.clear();
        this.dues = new DueHeap();
        for (const session of input.sessions) this.track(session, this.add(session, this.takenOver(now)));
        break;
      case 'lostMastership':
        for (const [session, lease] of this.leases) if (lease.held !== null) effects.push({ type: 'refuse', to: lease.held, session, reason: 'notMaster' });
        this.master = false;
        this.leases.clear();
        this.dues = new DueHeap();
        break;
      case 'sessionOpened':
        // Heard twice: from the open's answer and from the database's note; the first starts the lease.
        if (this.master && !this.leases.has(input.session)) this.track(input.session, this.add(input.session, this.fresh(now + this.timing.leaseMs)));
        break;
      case 'sessionFound':
        if (this.master && !this.leases.has(input.session)) this.track(input.session, this.add(input.session, this.takenOver(now)));
        break;
      case 'sessionEnded': {
        const lease = this.leases.get(input.session);
        if (lease?.held != null) effects.push({ type: 'refuse', to: lease.held, session: input.session, reason: 'sessionExpired' });
        this.leases.delete(input.session);
        this.dues.set(input.session, undefined);
        break;
      }
      case 'expireFailed': {
        const lease = this.leases.get(input.session);
        if (!lease?.expiring) break;
        lease.retryExpireAt = now + EXPIRE_RETRY_MS;
        this.track(input.session, lease);
        break;
      }
      case 'keepAlive':
        this.keepAlive(input, now, effects);
        break;
      case 'events': {
        const lease = this.leases.get(input.session);
        if (!lease || lease.expiring) break;
        lease.events.push(input.events);
        if (lease.held !== null) this.answer(input.session, lease, now, effects);
        this.track(input.session, lease);
        break;
      }
      case 'tick':
        for (const session of this.dues.takeDue(now)) {
          const lease = this.leases.get(session);
          if (!lease) continue;
          if (lease.expiring) {
            if (lease.retryExpireAt === undefined || now < lease.retryExpireAt) continue;
            lease.retryExpireAt = undefined;
            effects.push({ type: 'proposeExpire', session });
          } else if (lease.held !== null) this.answer(session, lease, now, effects);
          else {
            lease.expiring = true;
            effects.push({ type: 'proposeExpire', session });
          }
          this.track(session, lease);
        }
        break;
      default:
        return unreachable(input, 'session leases');
    }
    return effects;
  }

  /** When the host should tick next (the earliest answer or expiry due), or undefined if nothing is due. */
  nextWakeAt(): number | undefined {
    return this.dues.peek();
  }

  /** The lease deadline of a session (master's clock), for status pages and tests. */
  deadlineOf(session: SessionId): number | undefined {
    return this.leases.get(session)?.deadline;
  }

  private keepAlive({ session, from, answerNow, ack }: Extract<LeaseInput<R, E>, { type: 'keepAlive' }>, now: number, effects: LeaseEffect<R, E>[]): void {
    if (!this.master) return void effects.push({ type: 'refuse', to: from, session, reason: 'notMaster' });
    const lease = this.leases.get(session);
    if (!lease) return void effects.push({ type: 'refuse', to: from, session, reason: 'unknownSession' });
    if (lease.expiring) return void effects.push({ type: 'refuse', to: from, session, reason: 'sessionExpired' });
    // A newer KeepAlive supersedes a held one: the client gave up waiting on the old one (its
    // lease is ending, or the answer was lost), so the new one is answered now, with the lease.
    const superseding = lease.held !== null;
    lease.held = from;
    if (ack !== undefined) {
      lease.events.ack(ack);
      lease.failoverOwed = false;
    }
    if (superseding || answerNow === true || lease.takenOver || lease.fresh || lease.events.owed || now >= lease.deadline - this.timing.answerBeforeEndMs) this.answer(session, lease, now, effects);
    this.track(session, lease);
  }

  private add(session: SessionId, lease: Lease<R, E>): Lease<R, E> {
    this.leases.set(session, lease);
    return lease;
  }

  /** A held KeepAlive falls due shortly before the lease ends; a lease with none, at its end. */
  private track(session: SessionId, lease: Lease<R, E>): void {
    this.dues.set(session, lease.expiring ? lease.retryExpireAt : lease.held !== null ? lease.deadline - this.timing.answerBeforeEndMs : lease.deadline);
  }

  private answer(session: SessionId, lease: Lease<R, E>, now: number, effects: LeaseEffect<R, E>[]): void {
    if (lease.held === null) return;
    // A lease granted is never shortened; a taken-over session's wait is not a lease granted.
    lease.deadline = lease.takenOver ? now + this.timing.leaseMs : Math.max(lease.deadline, now + this.timing.leaseMs);
    effects.push({ type: 'answer', to: lease.held, session, leaseRemainingMs: lease.deadline - now, ...lease.events.unacked, failover: lease.failoverOwed });
    [lease.held, lease.takenOver, lease.fresh] = [null, false, false];
  }

  /** A session another master granted leases to: extended by a lease and the grace period. */
  private takenOver(now: number): Lease<R, E> {
    return { ...this.fresh(now + this.timing.leaseMs + this.timing.gracePeriodMs), takenOver: true, failoverOwed: true };
  }

  private fresh(deadline: number): Lease<R, E> {
    return { deadline, held: null, events: new UnackedEvents(this.timing.maxPendingEvents), failoverOwed: false, expiring: false, retryExpireAt: undefined, takenOver: false, fresh: true };
  }
}
