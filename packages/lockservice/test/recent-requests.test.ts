import { describe, expect, it } from '@jest/globals';
import { RecentRequests } from '../src/recent-requests.ts';

describe('recent requests, to drop the copies the network makes', () => {
  it('takes a copy of any of the newest max requests for a copy, however many came before', () => {
    const max = 100;
    const recent = new RecentRequests(max);
    for (let corr = 0; corr < 1_000; corr++) {
      expect(recent.isCopy({ node: 'w1', corr })).toBe(false);
      // Every request among the newest `max` is still known.
      for (const back of [0, 1, max - 1]) if (corr >= back) expect(recent.isCopy({ node: 'w1', corr: corr - back })).toBe(true);
    }
  });

  it('tells requests of different nodes apart, and forgets the oldest past twice max', () => {
    const recent = new RecentRequests(10);
    expect(recent.isCopy({ node: 'w1', corr: 1 })).toBe(false);
    expect(recent.isCopy({ node: 'w2', corr: 1 })).toBe(false);
    for (let corr = 2; corr < 30; corr++) recent.isCopy({ node: 'w1', corr });
    // Bounded: the first requests are forgotten (a copy that late is taken for a new request).
    expect(recent.isCopy({ node: 'w2', corr: 1 })).toBe(false);
  });

  it('never takes a request without a reply handle (a tell) for a copy', () => {
    const recent = new RecentRequests(10);
    expect(recent.isCopy(undefined)).toBe(false);
    expect(recent.isCopy(undefined)).toBe(false);
  });
});
