import { describe, expect, it } from '@jest/globals';
import { GfsClientError, retrying, TransientError } from '../src/client/retry.ts';

describe('GFS client retrying: its backoff', () => {
  it('doubles from clientBackoffMs up to 2 s, each wait drawn between half of its step and all of it, until the attempts run out', async () => {
    let now = 0;
    const waits: number[] = [];
    const draws = [0, 0.5, 0, 0, 0, 0, 0.5];
    const host = { now: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)), random: () => draws.shift()! };
    const failing = retrying(host, { clientAttempts: 8, clientRetryMs: 60_000, clientBackoffMs: 100 }, 'test', () => Promise.reject(new TransientError('not yet')));
    await expect(failing).rejects.toThrow(GfsClientError);
    expect(waits).toEqual([50, 150, 200, 400, 800, 1_000, 1_500]);
  });
});
