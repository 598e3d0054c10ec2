import { describe, expect, it } from '@jest/globals';
import { OpsRate } from '../src/ops-rate.ts';

describe('ops per second over a fixed window', () => {
  it('counts each second, shows quiet seconds as 0, and forgets seconds older than the window', () => {
    let now = 1_000_000;
    const rate = new OpsRate(3, () => now);
    rate.add();
    rate.add(2);
    now += 1000;
    expect(rate.series()).toEqual([
      [998, 0],
      [999, 0],
      [1000, 3],
    ]);
    now += 2000;
    rate.add(5); // second 1003 reuses the slot of 1000
    now += 1000;
    expect(rate.series()).toEqual([
      [1001, 0],
      [1002, 0],
      [1003, 5],
    ]);
  });
});
