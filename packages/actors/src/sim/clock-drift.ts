import { hashString, seededRandom, type Random } from '../random.ts';

/** How far simulated node clocks stray from true (virtual) time. */
export interface ClockDriftOptions {
  /** Each clock runs at a rate within 1 ± maxRate (0.02: a true second reads as 0.98 to 1.02 s). */
  maxRate: number;
  /** Each clock reads ahead of true time by 0 to maxOffsetMs (never behind: clocks start at or after 0). */
  maxOffsetMs: number;
  /** A clock picks a new rate every this many true ms. Default 500. */
  changeEveryMs?: number;
}

/** One clock: from true time `at` on it reads `reads + rate * (t - at)`. */
interface Segment {
  at: number;
  reads: number;
  rate: number;
  rnd: Random;
}

/**
 * Per-node clocks that drift within a bound: each runs at its own rate, which changes every
 * changeEveryMs, and reads ahead of true time by an offset kept within [0, maxOffsetMs]. A clock
 * never jumps and never runs backwards. Each node's clock draws from its own seeded stream, so
 * clocks are the same for a seed whatever order nodes read them in.
 */
export class DriftingClocks {
  private readonly clocks = new Map<string, Segment>();
  private readonly changeEveryMs: number;

  constructor(
    private readonly opts: ClockDriftOptions,
    private readonly seed: number,
  ) {
    if (!(opts.maxRate >= 0 && opts.maxRate < 1)) throw new Error(`clock maxRate must be in [0, 1), got ${opts.maxRate}`);
    if (!(opts.maxOffsetMs >= 0)) throw new Error(`clock maxOffsetMs must be >= 0, got ${opts.maxOffsetMs}`);
    this.changeEveryMs = opts.changeEveryMs ?? 500;
  }

  /** What `node`'s clock reads at true time t (t never decreases between calls). */
  read(node: string, t: number): number {
    const c = this.segment(node, t);
    return c.reads + c.rate * (t - c.at);
  }

  /** True ms until `node`'s clock has moved on by ms, at its rate at true time t. */
  trueDelay(node: string, t: number, ms: number): number {
    return ms / this.segment(node, t).rate;
  }

  private segment(node: string, t: number): Segment {
    let c = this.clocks.get(node);
    if (!c) {
      const rnd = seededRandom(hashString(node, this.seed ^ 0xc10c));
      c = { at: t, reads: t + rnd() * this.opts.maxOffsetMs, rate: 1, rnd };
      c.rate = this.nextRate(c);
      this.clocks.set(node, c);
    }
    while (t - c.at >= this.changeEveryMs) {
      c.reads += c.rate * this.changeEveryMs;
      c.at += this.changeEveryMs;
      c.rate = this.nextRate(c);
    }
    return c;
  }

  /** A random rate within the bound that keeps the offset within [0, maxOffsetMs] over the next segment. */
  private nextRate(c: Segment): number {
    const { maxRate, maxOffsetMs } = this.opts;
    const offset = c.reads - c.at;
    const lo = Math.max(1 - maxRate, 1 - offset / this.changeEveryMs);
    const hi = Math.min(1 + maxRate, 1 + (maxOffsetMs - offset) / this.changeEveryMs);
    return lo + c.rnd() * Math.max(0, hi - lo);
  }
}
