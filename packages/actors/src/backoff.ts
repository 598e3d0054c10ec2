import type { Random } from './random.ts';

/**
 * How long to wait between retries: the wait doubles from `firstMs` per failure up to `capMs`, is
 * never more than the caller's bound (the time it has left, say), and never less than `minMs`.
 * With `jitter` (0 to 1) that share of each wait is drawn at random, so clients that failed
 * together do not retry in step: 0.5 waits between half of the step and all of it.
 */
export interface BackoffTiming {
  firstMs: number;
  capMs: number;
  /** Default 0. */
  minMs?: number;
  /** Default 0: no jitter, and no draw from `random`. */
  jitter?: number;
}

/**
 * The wait (ms) after `failures` earlier failures (0 for the first retry), at most `boundMs`.
 * Pure: the jitter is drawn from `random` (one draw per call when `jitter` > 0), which in an actor
 * is `ctx.random`, so the simulator replays it.
 */
export function backoffWaitMs(timing: BackoffTiming, failures: number, random: Random, boundMs = Infinity): number {
  const jitter = timing.jitter ?? 0;
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff jitter must be in [0, 1], got ${jitter}`);
  const step = Math.min(timing.firstMs * 2 ** failures, timing.capMs, Math.max(0, boundMs));
  const waitMs = jitter === 0 ? step : step * (1 - jitter) + random() * (step * jitter);
  return Math.max(timing.minMs ?? 0, waitMs);
}

/** `backoffWaitMs` with the count of failures kept: `next` after each failure, `reset` after a success. */
export class Backoff {
  private failures = 0;

  constructor(
    readonly timing: BackoffTiming,
    private readonly random: Random,
  ) {}

  /** The next wait (ms), at most `boundMs`. */
  next(boundMs = Infinity): number {
    return backoffWaitMs(this.timing, this.failures++, this.random, boundMs);
  }

  reset(): void {
    this.failures = 0;
  }
}
