import { describe, expect, test } from '@jest/globals';
import { ClientLease } from '../src/client-lease.ts';
import { keepAliveRetryTiming, RetryBackoff } from '../src/retry-backoff.ts';

describe('retry backoff', () => {
  test('waits double up to the cap, each drawn in the upper half of its step, and start over after an answer', () => {
    const draws = [0, 0.999, 0.5, 0, 0.999, 0.25, 0];
    const b = new RetryBackoff({ firstMs: 50, capMs: 300, fractionOfRemaining: 1, minMs: 0 }, () => draws.shift()!);
    expect([b.next(Infinity), b.next(Infinity), b.next(Infinity), b.next(Infinity), b.next(Infinity), b.next(Infinity)].map(Math.round)).toEqual([25, 100, 150, 150, 300, 188]);
    b.reset();
    expect(b.next(Infinity)).toBe(25);
  });

  test('never waits more than its fraction of what the session has left, nor less than its floor', () => {
    const b = new RetryBackoff({ firstMs: 1_000, capMs: 1_000, fractionOfRemaining: 1 / 4, minMs: 20 }, () => 0.999_999);
    expect(b.next(2_000)).toBeCloseTo(500);
    expect(b.next(400)).toBeCloseTo(100);
    expect(b.next(40)).toBe(20);
    expect(b.next(0)).toBe(20);
  });

  test("a KeepAlive retried all through jeopardy tries often enough to reach a master well inside the grace period", () => {
    // Default timings: 12 s lease, 45 s grace. Jeopardy starts at 12 s (the local lease's end).
    const lease = new ClientLease<never>(0, 12_000, { driftMs: 0, gracePeriodMs: 45_000 });
    lease.step({ type: 'tick' }, 12_000);
    const b = new RetryBackoff(keepAliveRetryTiming(12_000), () => 0.999_999);
    let now = 12_000;
    const waits: number[] = [];
    while (lease.remainingMs(now) > 0) {
      const wait = b.next(lease.remainingMs(now));
      waits.push(wait);
      // No wait is more than a quarter of what is left, and none over a second.
      expect(wait).toBeLessThanOrEqual(Math.max(20, lease.remainingMs(now) / 4) + 1e-9);
      expect(wait).toBeLessThanOrEqual(1_000);
      now += wait;
    }
    // Once past the first doubling, about one try a second: some 45 over the grace period, not 900.
    expect(waits.slice(0, 5).map(Math.round)).toEqual([50, 100, 200, 400, 800]);
    expect(waits.length).toBeGreaterThan(40);
    expect(waits.length).toBeLessThan(120);
  });
});
