import { describe, expect, test } from '@jest/globals';
import { Backoff, backoffWaitMs, seededRandom } from '../src/core.ts';

const noDraw = (): number => {
  throw new Error('a backoff without jitter drew a random number');
};

describe('backoff', () => {
  test('without jitter the waits double from the first up to the cap, and never draw', () => {
    const b = new Backoff({ firstMs: 20, capMs: 100 }, noDraw);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([20, 40, 80, 100, 100]);
    b.reset();
    expect(b.next()).toBe(20);
  });

  test('with jitter 0.5 each wait is drawn between half of its step and all of it, one draw a wait', () => {
    const draws = [0, 0.5, 0.999];
    let drawn = 0;
    const b = new Backoff({ firstMs: 100, capMs: 1_000, jitter: 0.5 }, () => (drawn++, draws.shift()!));
    expect([b.next(), b.next(), b.next()]).toEqual([50, 150, 200 + 0.999 * 200]);
    expect(drawn).toBe(3);
  });

  test('the bound (time left) caps a wait below the step, and the floor lifts it', () => {
    const timing = { firstMs: 1_000, capMs: 1_000, minMs: 20 };
    expect(backoffWaitMs(timing, 0, noDraw, 300)).toBe(300);
    expect(backoffWaitMs(timing, 0, noDraw, 5)).toBe(20);
    expect(backoffWaitMs(timing, 0, noDraw, -10)).toBe(20);
    expect(backoffWaitMs(timing, 2_000, noDraw)).toBe(1_000);
  });

  test('the same seed replays the same jittered schedule', () => {
    const schedule = (seed: number): number[] => {
      const b = new Backoff({ firstMs: 10, capMs: 640, jitter: 1 }, seededRandom(seed));
      return Array.from({ length: 8 }, () => b.next());
    };
    expect(schedule(7)).toEqual(schedule(7));
    expect(schedule(7)).not.toEqual(schedule(8));
    schedule(7).forEach((w, i) => expect(w).toBeLessThanOrEqual(Math.min(640, 10 * 2 ** i)));
  });

  test('a jitter outside [0, 1] is refused', () => {
    expect(() => backoffWaitMs({ firstMs: 1, capMs: 1, jitter: 1.5 }, 0, Math.random)).toThrow(RangeError);
  });
});
