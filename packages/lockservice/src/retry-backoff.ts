import { Backoff } from '@actorfs/actors/core';

/**
 * How long a client waits before it tries again while no master answers. The wait doubles from
 * `firstMs` up to `capMs`, is drawn between half of that and all of it (the clients that lost the
 * same master do not retry in step), and is never more than `fractionOfRemaining` of the time
 * the session has left: the client keeps trying, more often as the end nears, so it reaches a new
 * master well inside the grace period. It never waits less than `minMs` (no spinning at the end).
 */
export interface RetryTiming {
  firstMs: number;
  capMs: number;
  fractionOfRemaining: number;
  minMs: number;
}

/** `Backoff` from `@actorfs/actors` with a bound of `fractionOfRemaining` of the session's time left. */
export class RetryBackoff {
  private readonly backoff: Backoff;

  constructor(
    readonly timing: RetryTiming,
    /** Uniform in [0, 1): the actor's `ctx.random`. */
    random: () => number,
  ) {
    this.backoff = new Backoff({ firstMs: timing.firstMs, capMs: timing.capMs, minMs: timing.minMs, jitter: 0.5 }, random);
  }

  /** The next wait (ms), given how long the session has left (ms; Infinity: no bound). */
  next(remainingMs: number): number {
    return this.backoff.next(Math.max(0, remainingMs) * this.timing.fractionOfRemaining);
  }

  /** An answer came: the next failure starts from `firstMs` again. */
  reset(): void {
    this.backoff.reset();
  }
}

/** KeepAlive retries: from 50 ms up to a second (a quarter lease at most), a quarter of what is left at most. */
export function keepAliveRetryTiming(leaseMs: number): RetryTiming {
  return { firstMs: 50, capMs: Math.min(1_000, leaseMs / 4), fractionOfRemaining: 1 / 4, minMs: 20 };
}

/** A request's retries while no master takes it: from 20 ms up to a quarter lease. */
export function requestRetryTiming(leaseMs: number): RetryTiming {
  return { firstMs: 20, capMs: leaseMs / 4, fractionOfRemaining: 1, minMs: 20 };
}
