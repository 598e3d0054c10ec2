import { describe, expect, it } from '@jest/globals';
import { gfsConfig } from '../src/config.ts';
import type { ServerInfo } from '../src/master/placement.ts';
import { ClonesInProgress, extraReplica, planReplication, type ReplicationView } from '../src/master/replication-plan.ts';

const GB = 2 ** 30;
const server = (id: string, rack: string, usedGb: number): ServerInfo => ({ id, rack, usedBytes: usedGb * GB, capacityBytes: 100 * GB });
const limits = gfsConfig({ chunkSizeBytes: GB, replicas: 3, maxClonesInFlight: 2, maxClonesPerServer: 1 });
const SERVERS = [server('a', 'r1', 10), server('b', 'r2', 10), server('c', 'r3', 10), server('d', 'r1', 10), server('e', 'r2', 10), server('f', 'r3', 10)];

/** A view of chunks (handle -> live replicas, all at version 2 unless given) with nothing else going on. */
function view(replicas: Record<number, string[]>, over: Partial<ReplicationView> = {}): ReplicationView {
  const chunks = new Map(Object.keys(replicas).map((h) => [Number(h), { version: 2 }]));
  const byServer = (id: string): number[] => [...chunks.keys()].filter((h) => replicas[h]!.includes(id));
  return {
    nowMs: 1000,
    chunks: chunks.entries(),
    servers: SERVERS,
    versionOf: (h) => chunks.get(h)?.version,
    liveReplicas: (h) => [...(replicas[h] ?? [])].sort(),
    chunksOn: byServer,
    cloning: () => false,
    granting: () => false,
    copyInFlight: () => false,
    lostRaise: () => [],
    creatingOn: () => [],
    reportedAll: true,
    liveFileChunks: () => new Set(chunks.keys()),
    quiet: () => true,
    leaseHolder: () => undefined,
    inFlight: { total: 0, perServer: new Map() },
    limits,
    ...over,
  };
}

describe('re-replication planning', () => {
  it('the most endangered chunk is cloned first, within the limit per cluster', () => {
    const plan = planReplication(view({ 1: ['a', 'b'], 2: ['c'], 3: ['a', 'b', 'c'] }));
    // chunk 2 (one replica) before chunk 1 (two); its source takes one clone at a time, so its second waits
    expect(plan.clones.map((t) => t.handle)).toEqual([2, 1]);
    expect(plan.clones[0]!.source).toBe('c');
    expect(plan.quiescing.size).toBe(0);
    // with one clone already in flight, the cluster limit of 2 leaves room for the most endangered only
    const full = planReplication(view({ 1: ['a', 'b'], 2: ['c'] }, { inFlight: { total: 1, perServer: new Map() } }));
    expect(full.clones.map((t) => t.handle)).toEqual([2]);
  });

  it('live files before deleted ones, and no server takes part in more clones than its limit', () => {
    const plan = planReplication(view({ 1: ['a', 'b'], 2: ['d', 'e'] }, { liveFileChunks: () => new Set([2]) }));
    expect(plan.clones[0]!.handle).toBe(2);
    const perServer = new Map<string, number>();
    for (const t of plan.clones) for (const id of [t.source, t.target]) perServer.set(id, (perServer.get(id) ?? 0) + 1);
    expect(Math.max(...perServer.values())).toBeLessThanOrEqual(limits.maxClonesPerServer);
  });

  it('clones in flight count against the limits, and a chunk being cloned is left alone', () => {
    const busy = planReplication(view({ 1: ['a', 'b'] }, { inFlight: { total: 2, perServer: new Map() } }));
    expect(busy.clones).toEqual([]);
    const cloning = planReplication(view({ 1: ['a', 'b'] }, { cloning: (h) => h === 1 }));
    expect(cloning.clones).toEqual([]);
  });

  it('an endangered chunk under a lease is not cloned but quiesced (its lease not extended); a rebalancing move just waits', () => {
    const leased = planReplication(view({ 1: ['a', 'b'] }, { quiet: () => false }));
    expect(leased.clones).toEqual([]);
    expect([...leased.quiescing]).toEqual([1]);
    const uneven = [server('a', 'r1', 90), server('b', 'r2', 10), server('c', 'r3', 10), server('d', 'r1', 10)];
    const move = planReplication(view({ 1: ['a', 'b', 'c'] }, { servers: uneven, quiet: () => false }));
    expect(move.clones).toEqual([]);
    expect(move.quiescing.size).toBe(0);
  });

  it('rebalancing and spreading over racks only when no chunk is endangered', () => {
    const uneven = [server('a', 'r1', 90), server('b', 'r2', 10), server('c', 'r3', 10), server('d', 'r1', 10)];
    expect(planReplication(view({ 1: ['a', 'b', 'c'] }, { servers: uneven })).clones).toEqual([{ handle: 1, source: 'a', target: 'd' }]);
    const endangered = planReplication(view({ 1: ['a', 'b', 'c'], 2: ['b', 'c'] }, { servers: uneven }));
    expect(endangered.clones.map((t) => t.handle)).toEqual([2]);
  });

  it('a chunk above its target drops one replica: on a shared rack, the fullest, never the lease holder', () => {
    const plan = planReplication(view({ 1: ['a', 'b', 'c', 'd'] }, { leaseHolder: () => 'a' }));
    expect(plan.dropExtra).toEqual([{ handle: 1, server: 'd' }]);
    const servers = [server('a', 'r1', 50), server('b', 'r2', 10), server('c', 'r1', 20), server('d', 'r3', 90)];
    expect(extraReplica(['a', 'b', 'c', 'd'], undefined, servers)).toBe('a');
    expect(extraReplica(['a', 'b', 'c', 'd'], 'a', servers)).toBe('c');
    // a chunk whose grant runs keeps its replicas
    expect(planReplication(view({ 1: ['a', 'b', 'c', 'd'] }, { granting: () => true })).dropExtra).toEqual([]);
  });

  it('a chunk with no live replica whose last raise reached none is raised again; one at version 1 held by none is created again once every server reported', () => {
    const lost = planReplication(view({ 1: [] }, { lostRaise: () => ['a', 'b'] }));
    expect(lost.raiseAgain).toEqual([{ handle: 1, version: 3, servers: ['a', 'b'] }]);
    expect(planReplication(view({ 1: [] }, { lostRaise: () => ['a'], granting: () => true })).raiseAgain).toEqual([]);
    // nor while some server makes a copy of it after a snapshot (the raise would have the copy refused)
    expect(planReplication(view({ 1: [] }, { lostRaise: () => ['a'], copyInFlight: (h) => h === 1 })).raiseAgain).toEqual([]);
    const fresh = { chunks: new Map([[1, { version: 1 }]]).entries(), versionOf: () => 1 };
    expect(planReplication(view({ 1: [] }, { ...fresh })).createAgain).toEqual([1]);
    const early = { chunks: new Map([[1, { version: 1 }]]).entries(), reportedAll: false };
    expect(planReplication(view({ 1: [] }, early)).createAgain).toEqual([]);
    const creating = { chunks: new Map([[1, { version: 1 }]]).entries(), creatingOn: () => ['a'] };
    expect(planReplication(view({ 1: [] }, creating)).createAgain).toEqual([]);
  });
});

describe('clones in progress', () => {
  it('end at their timeout, when their source or target dies, or when the target stops reporting the copy', () => {
    const c = new ClonesInProgress();
    c.started(1, { source: 'a', target: 'b', startedMs: 0 });
    c.started(2, { source: 'a', target: 'c', startedMs: 0 });
    c.started(3, { source: 'd', target: 'b', startedMs: 500 });
    expect(c.inFlight()).toEqual({ total: 3, perServer: new Map([['a', 2], ['b', 2], ['c', 1], ['d', 1]]) });
    c.endedAt('b', [1], 600, 200); // 3 started too lately to tell
    expect(c.list().map((x) => x.handle)).toEqual([1, 2, 3]);
    c.endedAt('b', [1], 800, 200);
    expect(c.list().map((x) => x.handle)).toEqual([1, 2]);
    c.expire(900, 1000, (id) => id !== 'c');
    expect(c.list().map((x) => x.handle)).toEqual([1]);
    c.expire(1001, 1000, () => true);
    expect(c.list()).toEqual([]);
  });
});
