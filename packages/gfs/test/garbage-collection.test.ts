import { describe, expect, it } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import { ChunkLocations } from '../src/master/chunk-locations.ts';
import { reclaimDue, replicasToDelete } from '../src/master/garbage-collection.ts';
import { LockedOps } from '../src/master/locked-ops.ts';
import { heartbeatProblem, type Heartbeat } from '../src/master/heartbeat.ts';
import { MasterMetadata } from '../src/master/metadata.ts';
import type { MetadataRecord } from '../src/master/records.ts';
import type { ChunkserverMsg } from '../src/protocol.ts';

function build(records: MetadataRecord[]): MasterMetadata {
  const m = new MasterMetadata();
  for (const r of records) m.apply(r);
  return m;
}

describe('garbage collection', () => {
  it('a deleted file is reclaimed only once the delay has passed since its deletion', () => {
    const m = build([
      { type: 'create', path: '/f' },
      { type: 'create', path: '/g' },
      { type: 'delete', path: '/f', atMs: 1000 },
      { type: 'delete', path: '/g', atMs: 2000 },
    ]);
    expect(m.dueForReclaim(1999, 1000, 10)).toEqual([]);
    expect(m.dueForReclaim(2000, 1000, 10)).toHaveLength(1);
    expect(m.dueForReclaim(3000, 1000, 10)).toHaveLength(2);
    expect(m.dueForReclaim(3000, 1000, 1)).toHaveLength(1); // at most `limit` per scan
  });

  it("a scan reclaims the due files whose paths no operation holds, and forgets only the chunks no other file shares (a snapshot's copy keeps its chunk)", () => {
    const m = build([
      { type: 'create', path: '/f' },
      { type: 'add-chunk', path: '/f', handle: 1 },
      { type: 'add-chunk', path: '/f', handle: 2 },
      { type: 'snapshot', source: '/f', target: '/s' },
      { type: 'copy-on-write', path: '/f', index: 1, handle: 3 },
      { type: 'create', path: '/g' },
      { type: 'add-chunk', path: '/g', handle: 4 },
      { type: 'delete', path: '/f', atMs: 1000 },
      { type: 'delete', path: '/g', atMs: 1001 },
    ]);
    const due = m.dueForReclaim(5000, 1000, 10);
    const [hiddenF, hiddenG] = [m.deletedVersionsOf('/f')[0]!, m.deletedVersionsOf('/g')[0]!];
    expect(new Set(due)).toEqual(new Set([hiddenF, hiddenG]));
    // a snapshot of the hidden /g holds its path: /g waits for the next scan
    const ops = new LockedOps<{ fail(): void }>(4);
    ops.run({ write: [hiddenG] }, () => 'held', { fail: () => undefined }, () => ({ fail: () => undefined }));
    const reclaimed: string[] = [];
    const forgotten: number[] = [];
    const view = { free: (p: string) => ops.free({ write: [p] }), chunksUnder: (p: string) => m.chunksUnder(p), known: (h: number) => m.chunk(h) !== undefined };
    reclaimDue(due, view, { reclaim: (hiddenPath) => (reclaimed.push(hiddenPath), m.apply({ type: 'reclaim', hiddenPath })), forget: (h) => forgotten.push(h) });
    expect(reclaimed).toEqual([hiddenF]);
    // chunk 1 is still the snapshot's; 3 was /f's own copy of chunk 2 (which the snapshot keeps)
    expect(forgotten).toEqual([3]);
    expect(m.chunk(1)?.refs).toBe(1);
    expect(m.chunk(4)).toBeDefined();
  });

  it('a heartbeat answer deletes orphans and stale replicas; a stale version is never handed out', () => {
    const locations = new ChunkLocations();
    const versions = new Map([[1, 3], [2, 3], [3, 3]]);
    const verdict = locations.applyReport('cs1', [{ handle: 1, version: 2 }, { handle: 2, version: 3 }, { handle: 3, version: 1 }, { handle: 9, version: 1 }], (h) => versions.get(h));
    expect(locations.liveReplicas(1, 3)).toEqual([]);
    expect(locations.liveReplicas(2, 3)).toEqual(['cs1']);
    expect(replicasToDelete(verdict, () => false)).toEqual([9, 1, 3]);
    // a stale replica a raise still waits for (or the last copies of a chunk) is kept; an orphan never is
    expect(replicasToDelete(verdict, (h) => h === 1)).toEqual([9, 3]);
    expect(replicasToDelete(verdict, () => true)).toEqual([9]);
  });
});

describe('heartbeats', () => {
  const good: Heartbeat = { type: 'heartbeat', server: 'cs1', ref: {} as ActorRef<ChunkserverMsg>, rack: 'r1', usedBytes: 0, capacityBytes: 10, chunks: [{ handle: 1, version: 2 }], leases: [1], cloning: [] };
  it('a malformed one is refused with the reason; a well-formed one passes', () => {
    expect(heartbeatProblem(good)).toBeUndefined();
    const bad = (over: Record<string, unknown>): string | undefined => heartbeatProblem({ ...good, ...over } as Heartbeat);
    expect(bad({ server: 7 })).toMatch(/server and rack/);
    expect(bad({ usedBytes: -1 })).toMatch(/usedBytes/);
    expect(bad({ chunks: 'x' })).toMatch(/chunks must be a list/);
    expect(bad({ leases: ['a'] })).toMatch(/leases/);
    expect(bad({ cloning: [1.5] })).toMatch(/cloning/);
    expect(bad({ chunks: [{ handle: 1 }] })).toMatch(/bad chunk report/);
  });
});
