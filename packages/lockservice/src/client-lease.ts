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
