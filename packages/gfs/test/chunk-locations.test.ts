import { describe, expect, it } from '@jest/globals';
import { ChunkLocations } from '../src/master/chunk-locations.ts';

const versions = new Map([
  [1, 3],
  [2, 1],
]);
const versionOf = (h: number): number | undefined => versions.get(h);

describe('chunk locations (learned from chunkservers, not persisted)', () => {
  it('a report sorts replicas into current, stale (older version), ahead (newer) and orphaned (unknown chunk)', () => {
    const l = new ChunkLocations();
    const verdict = l.applyReport(
      'cs1',
      [
        { handle: 1, version: 3 },
        { handle: 2, version: 2 },
        { handle: 9, version: 1 },
      ],
      versionOf,
    );
    expect(verdict).toEqual({ orphaned: [9], stale: [], ahead: [{ handle: 2, version: 2 }] });
    expect(l.applyReport('cs2', [{ handle: 1, version: 2 }], versionOf)).toEqual({ orphaned: [], stale: [1], ahead: [] });
    // a stale replica is never given to clients
    expect(l.liveReplicas(1, 3)).toEqual(['cs1']);
    expect(l.chunksOn('cs2')).toEqual([]);
  });

  it("a later report replaces what a server held before, and a dead server's replicas and leases are forgotten", () => {
    const l = new ChunkLocations();
    l.applyReport('cs1', [{ handle: 1, version: 3 }, { handle: 2, version: 1 }], versionOf);
    l.applyReport('cs2', [{ handle: 1, version: 3 }], versionOf);
    l.applyReport('cs1', [{ handle: 2, version: 1 }], versionOf);
    expect(l.liveReplicas(1, 3)).toEqual(['cs2']);
    l.grantLease(2, 'cs1', 0, 60_000);
    expect(l.removeServer('cs1')).toEqual([2]);
    expect(l.liveReplicas(2, 1)).toEqual([]);
    expect(l.lease(2, 1)).toBeUndefined();
  });

  it("a server's report keeps the leases it holds on chunks it still reports, and drops the others", () => {
    const l = new ChunkLocations();
    l.applyReport('cs1', [{ handle: 1, version: 3 }, { handle: 2, version: 1 }], versionOf);
    l.grantLease(1, 'cs1', 0, 60_000);
    l.grantLease(2, 'cs1', 0, 60_000);
    l.applyReport('cs1', [{ handle: 1, version: 3 }], versionOf);
    expect(l.lease(1, 1000)?.holder).toBe('cs1');
    expect(l.lease(2, 1000)).toBeUndefined();
    // a stale report of the chunk drops it too
    l.applyReport('cs1', [{ handle: 1, version: 2 }], versionOf);
    expect(l.lease(1, 1000)).toBeUndefined();
    expect(l.chunksOn('cs1')).toEqual([]);
  });

  it('after a version bump, replicas that missed it are stale and dropped', () => {
    const l = new ChunkLocations();
    for (const s of ['cs1', 'cs2', 'cs3']) l.addReplica(s, 1, 3);
    l.addReplica('cs1', 1, 4);
    l.addReplica('cs3', 1, 4);
    expect(l.dropStale(1, 4)).toEqual(['cs2']);
    expect(l.liveReplicas(1, 4)).toEqual(['cs1', 'cs3']);
  });

  it('the older version a server last reported a chunk at is remembered until its next report, a deletion, its death or the chunk\'s reclaim', () => {
    const l = new ChunkLocations();
    const v = (h: number): number | undefined => (h <= 3 ? 5 : undefined);
    l.applyReport('cs1', [{ handle: 1, version: 4 }, { handle: 2, version: 4 }, { handle: 3, version: 5 }], v);
    expect([1, 2, 3].map((h) => l.olderVersion('cs1', h))).toEqual([4, 4, undefined]);
    l.removeReplica('cs1', 1); // told to delete it (a bad copy)
    expect(l.olderVersion('cs1', 1)).toBeUndefined();
    l.forgetChunk(2);
    expect(l.olderVersion('cs1', 2)).toBeUndefined();
    l.applyReport('cs1', [{ handle: 3, version: 3 }], v);
    expect(l.olderVersion('cs1', 3)).toBe(3);
    l.applyReport('cs1', [], v);
    expect(l.olderVersion('cs1', 3)).toBeUndefined();
    l.applyReport('cs2', [{ handle: 3, version: 3 }], v);
    l.removeServer('cs2');
    expect(l.olderVersion('cs2', 3)).toBeUndefined();
  });

  it('one primary lease per chunk at a time: it expires, the holder extends it, a revoke ends it', () => {
    const l = new ChunkLocations();
    l.addReplica('cs1', 1, 3);
    l.addReplica('cs2', 1, 3);
    expect(l.grantLease(1, 'cs1', 1000, 60_000)).toEqual({ holder: 'cs1', expiresAtMs: 61_000 });
    expect(() => l.grantLease(1, 'cs2', 2000, 60_000)).toThrow(/cs1 holds the lease until 61000/);
    expect(l.extendLease(1, 'cs2', 2000, 60_000)).toBe(false);
    expect(l.extendLease(1, 'cs1', 30_000, 60_000)).toBe(true);
    expect(l.lease(1, 89_999)?.holder).toBe('cs1');
    expect(l.lease(1, 90_000)).toBeUndefined();
    expect(l.grantLease(1, 'cs2', 90_000, 60_000).holder).toBe('cs2');
    l.revokeLease(1);
    expect(l.lease(1, 90_001)).toBeUndefined();
    expect(() => l.grantLease(1, 'cs9', 0, 1)).toThrow(/cs9 holds no replica/);
  });
});
