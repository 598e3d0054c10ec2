import { describe, expect, it } from '@jest/globals';
import { CacheHolders } from '../src/cache-holders.ts';

const LEASE_END = 5_000;
const leaseEnd = (): number => LEASE_END;

describe("the master's record of cached copies and the writes that wait for them", () => {
  it("holds a write until every other holder acknowledged its invalidation; the writer's own copy needs none", () => {
    const h = new CacheHolders(100, 0);
    expect(h.register(1, '/f')).toBe(true);
    expect(h.register(2, '/f')).toBe(true);
    let wrote = 0;
    const w = h.write('/f', 1, 10, leaseEnd, () => wrote++);
    expect(w).toEqual({ invalidations: [{ session: 2, id: 1, path: '/f' }], ready: false });
    // While the write is under way, a read of the node is not cacheable.
    expect(h.register(3, '/f')).toBe(false);
    h.acknowledged([1], 20).forEach((go) => go());
    expect(wrote).toBe(1);
    expect(h.doneWriting('/f', 1)).toBe(true);
    expect(h.register(3, '/f')).toBe(true);
  });

  it("a second write of the node waits for what the first still waits for, or the holder's lease end", () => {
    const h = new CacheHolders(100, 0);
    h.register(2, '/f');
    h.write('/f', 1, 10, leaseEnd, () => {});
    // No cacher is listed any more, yet holder 2 has not acknowledged.
    expect(h.write('/f', 3, 20, leaseEnd, () => {}).ready).toBe(false);
    expect(h.due(LEASE_END - 1)).toHaveLength(0);
    expect(h.due(LEASE_END)).toHaveLength(2);
    expect(h.nextDeadline()).toBeUndefined();
  });

  it("a new master's writes wait for the old leases unless every session taken over has flushed", () => {
    const h = new CacheHolders(100, 12_000);
    h.takeOver([1, 2]);
    expect(h.write('/f', 1, 10, leaseEnd, () => {}).ready).toBe(false);
    expect(h.flushed(1, 20)).toHaveLength(0);
    expect(h.flushed(2, 30)).toHaveLength(1);
    expect(h.write('/g', 1, 40, leaseEnd, () => {}).ready).toBe(true);
  });

  it('refuses to register past its bound, and forgets an ended session', () => {
    const h = new CacheHolders(1, 0);
    expect(h.register(1, '/f')).toBe(true);
    expect(h.register(2, '/g')).toBe(false);
    h.sessionEnded(1);
    expect(h.register(2, '/g')).toBe(true);
    expect(h.write('/f', 3, 0, leaseEnd, () => {}).invalidations).toEqual([]);
  });
});
