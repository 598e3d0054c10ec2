/**
 * A client's view of its session lease, as a pure core (`step(input, now) -> effects`), as in
 * Chubby: the client keeps a conservative local lease (it counts from when it *sent* the
 * KeepAlive that was answered, minus a drift margin, so it ends no later than the master's).
 * When the local lease ends the session is in jeopardy: the cache is flushed and the
 * application told; if a master answers within the grace period the session carries on (safe),
 * otherwise it is expired.
 */
import { unreachable } from './unreachable.ts';

export type ClientLeaseState = 'live' | 'jeopardy' | 'expired';

export interface ClientLeaseTiming {
  /** Taken off each lease the master grants, for clock-rate differences. */
  driftMs: number;
  /** How long jeopardy lasts before the session is given up. Chubby's default: 45 s. */
  gracePeriodMs: number;
}

export const DEFAULT_CLIENT_LEASE_TIMING: ClientLeaseTiming = { driftMs: 100, gracePeriodMs: 45_000 };

export type ClientLeaseInput<E> =
  /** A KeepAlive sent at `sentAt` (local clock) was answered with a lease of `leaseRemainingMs`. */
  | { type: 'answered'; sentAt: number; leaseRemainingMs: number; events: E[]; eventsLost: boolean; failover: boolean }
  /** The KeepAlive failed (timed out, refused as not master): look for the master and send again. */
  | { type: 'failed' }
  /** The master refused the session as expired or unknown: it is over. */
  | { type: 'ended' }
  | { type: 'tick' };

export type ClientLeaseEffect<E> =
  | { type: 'sendKeepAlive' }
  | { type: 'deliver'; events: E[] }
  /** Drop every cached value: invalidations may have been missed. */
  | { type: 'flushCache' }
  | { type: 'jeopardy' }
  | { type: 'safe'; failover: boolean }
  | { type: 'expired' };

/** The shortest wait for a KeepAlive the master answers at once. */
export const MIN_KEEPALIVE_WAIT_MS = 20;

/**
 * How long a KeepAlive sent at `sentAt` waits for its answer (`leaseEndsAt`: the local lease's
 * end while live). The master holds one until its lease is `answerBeforeEndMs` from its end
 * (about our end plus the drift margin), so one sent before then is overdue halfway between
 * then and our lease's end: a KeepAlive or answer lost on the way is sent again while the
 * master's lease still runs, not only once ours has ended. One the master answers at once (sent
 * later, or `answerNow`) waits half of what is left of the master's lease (within bounds), so a
 * second loss leaves time for a third try. In jeopardy it waits half a request timeout.
 */
export function keepAliveWaitMs(
  sentAt: number,
  leaseEndsAt: number | undefined,
  answerNow: boolean,
  t: { answerBeforeEndMs: number; driftMs: number; requestTimeoutMs: number },
): number {
  const atMost = t.requestTimeoutMs / 2;
  if (leaseEndsAt === undefined || sentAt >= leaseEndsAt) return atMost;
  const answeredAt = leaseEndsAt + t.driftMs - t.answerBeforeEndMs;
  if (!answerNow && sentAt < answeredAt) return leaseEndsAt - Math.max(0, t.answerBeforeEndMs - t.driftMs) / 2 - sentAt;
  return Math.min(atMost, Math.max(MIN_KEEPALIVE_WAIT_MS, (leaseEndsAt + t.driftMs - sentAt) / 2));
}

export class ClientLease<E> {
  private current: ClientLeaseState = 'live';
  private leaseEnd: number;

  /** `leaseRemainingMs` as the openSession reply gave it, measured from `sentAt`, when the request was sent. */
  constructor(sentAt: number, leaseRemainingMs: number, readonly timing: ClientLeaseTiming = DEFAULT_CLIENT_LEASE_TIMING) {
    this.leaseEnd = sentAt + leaseRemainingMs - timing.driftMs;
  }

  get state(): ClientLeaseState {
    return this.current;
  }

  /** When the local lease ends (local clock). */
  get leaseEndsAt(): number {
    return this.leaseEnd;
  }

  /**
   * How long the session can still be saved: until the grace period after the lease ends (a master
   * that failed over leaves its sessions to the next, which extends them by that much).
   */
  remainingMs(now: number): number {
    return this.current === 'expired' ? 0 : Math.max(0, this.leaseEnd + this.timing.gracePeriodMs - now);
  }

  step(input: ClientLeaseInput<E>, now: number): ClientLeaseEffect<E>[] {
    if (this.current === 'expired') return [];
    const effects: ClientLeaseEffect<E>[] = [];
    switch (input.type) {
      case 'answered': {
        // Answers may arrive out of order; a lease only ever moves forward.
        this.leaseEnd = Math.max(this.leaseEnd, input.sentAt + input.leaseRemainingMs - this.timing.driftMs);
        if (this.current === 'jeopardy' && now < this.leaseEnd) {
          this.current = 'live';
          effects.push({ type: 'safe', failover: input.failover });
        }
        if (input.eventsLost) effects.push({ type: 'flushCache' });
        if (input.events.length > 0) effects.push({ type: 'deliver', events: input.events });
        effects.push({ type: 'sendKeepAlive' });
        break;
      }
      case 'failed':
        effects.push({ type: 'sendKeepAlive' });
        break;
      case 'ended':
        this.current = 'expired';
        effects.push({ type: 'flushCache' }, { type: 'expired' });
        break;
      case 'tick':
        if (this.current === 'live' && now >= this.leaseEnd) {
          this.current = 'jeopardy';
          effects.push({ type: 'flushCache' }, { type: 'jeopardy' });
        }
        if (this.current === 'jeopardy' && now >= this.leaseEnd + this.timing.gracePeriodMs) {
          this.current = 'expired';
          effects.push({ type: 'expired' });
        }
        break;
      default:
        return unreachable(input, 'client lease');
    }
    return effects;
  }

  /** When to tick next: the lease's end while live, the grace period's end in jeopardy. */
  nextWakeAt(): number | undefined {
    if (this.current === 'live') return this.leaseEnd;
    return this.current === 'jeopardy' ? this.leaseEnd + this.timing.gracePeriodMs : undefined;
  }
}
