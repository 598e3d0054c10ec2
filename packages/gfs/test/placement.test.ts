import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { gfsConfig } from '../src/config.ts';
import { chooseTargets, placeNewChunk, planClones, planRebalance, planSpread, RecentCreations, replicationOrder, type ClonesInFlight, type ServerInfo, type UnderReplicated } from '../src/master/placement.ts';

const GB = 2 ** 30;
const server = (id: string, rack: string, usedGb: number): ServerInfo => ({ id, rack, usedBytes: usedGb * GB, capacityBytes: 100 * GB });
const idle = (): ClonesInFlight => ({ total: 0, perServer: new Map() });
const config = gfsConfig({ chunkSizeBytes: GB, maxClonesInFlight: 4, maxClonesPerServer: 1, maxRecentCreationsPerServer: 2, recentCreationWindowMs: 1000 });

describe('placement of new replicas', () => {
  it('new replicas go to servers with below-average disk use, one per rack', () => {
    const servers = [server('a1', 'A', 10), server('a2', 'A', 5), server('b1', 'B', 80), server('b2', 'B', 20), server('c1', 'C', 90), server('c2', 'C', 30)];
    // average 39%: a2 (5), a1 (10), b2 (20), c2 (30) are below; one of each rack
    expect(chooseTargets(servers, 3, [])).toEqual(['a2', 'b2', 'c2']);
  });

  it('spreading across racks beats disk use, and servers already holding the chunk are skipped', () => {
    const servers = [server('a1', 'A', 1), server('a2', 'A', 2), server('b1', 'B', 70)];
    expect(chooseTargets(servers, 2, [])).toEqual(['a1', 'b1']);
    expect(chooseTargets(servers, 2, ['a1'])).toEqual(['b1', 'a2']);
    expect(chooseTargets(servers, 5, [])).toHaveLength(3);
  });

  it('a server that took too many new chunks lately is skipped until its window passes', () => {
    const servers = [server('a', 'A', 1), server('b', 'B', 50), server('c', 'C', 60), server('d', 'D', 70)];
    const recent = new RecentCreations(config);
    for (const t of [0, 10]) for (const id of placeNewChunk(servers, 1, recent, t)) recent.record(id, t);
    expect(recent.atLimit('a', 20)).toBe(true);
    expect(placeNewChunk(servers, 1, recent, 20)).toEqual(['b']);
    expect(placeNewChunk(servers, 1, recent, 1011)).toEqual(['a']);
  });
});

describe('re-replication', () => {
  const chunk = (handle: number, replicas: string[], extra: Partial<UnderReplicated> = {}): UnderReplicated => ({ handle, replicas, target: 3, deleted: false, blockingClient: false, ...extra });

  it('the most endangered chunk goes first: fewest live replicas, then one blocking a client, then live files before deleted', () => {
    const order = replicationOrder([
      chunk(1, ['a', 'b']),
      chunk(2, ['a'], { deleted: true }),
      chunk(3, ['a']),
      chunk(4, ['a', 'b'], { blockingClient: true }),
      chunk(5, ['a'], { blockingClient: true, deleted: true }),
    ]);
    expect(order.map((c) => c.handle)).toEqual([5, 3, 2, 4, 1]);
  });

  it('clones respect the limits per cluster and per server, never go to a holder, and spread across racks', () => {
    const servers = ['A', 'B', 'C', 'D', 'E'].flatMap((r) => [server(`${r.toLowerCase()}1`, r, 10), server(`${r.toLowerCase()}2`, r, 10)]);
    const chunks = [chunk(1, ['a1']), chunk(2, ['b1', 'b2']), chunk(3, ['c1', 'd1']), chunk(4, [])];
    const inFlight = idle();
    const tasks = planClones(chunks, servers, inFlight, config);
    expect(inFlight.total).toBe(tasks.length);
    expect(tasks.length).toBeLessThanOrEqual(config.maxClonesInFlight);
    // chunk 1 first (one replica) but its only source a1 takes part in one clone at a time
    expect(tasks[0]).toMatchObject({ handle: 1, source: 'a1' });
    expect(tasks.filter((t) => t.handle === 1)).toHaveLength(1);
    const perServer = new Map<string, number>();
    for (const t of tasks) for (const s of [t.source, t.target]) perServer.set(s, (perServer.get(s) ?? 0) + 1);
    expect(Math.max(...perServer.values())).toBeLessThanOrEqual(config.maxClonesPerServer);
    for (const t of tasks) {
      const holders = chunks.find((c) => c.handle === t.handle)!.replicas;
      expect(holders).not.toContain(t.target);
      expect(holders.map((h) => h[0])).not.toContain(t.target[0]); // a rack the chunk is not on yet
    }
    expect(tasks.find((t) => t.handle === 4)).toBeUndefined(); // no live replica: nothing to clone from
    // everything busy: no more clones until some finish
    expect(planClones(chunks, servers, { total: config.maxClonesInFlight, perServer: new Map() }, config)).toEqual([]);
  });
});

describe('rebalancing', () => {
  it('moves replicas from the fullest to the emptiest servers until disk use is even, without doubling a replica or losing a rack', () => {
    const rand = seededRandom(5);
    const ids = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'];
    const rackOf = (id: string): string => id[0]!;
    const replicas = new Map<number, string[]>();
    // 60 chunks piled on a1, b1 and c1; a2, b2, c2 new and empty
    for (let h = 1; h <= 60; h++) replicas.set(h, ['a1', 'b1', 'c1']);
    const used = (id: string): number => [...replicas.values()].filter((rs) => rs.includes(id)).length * GB;
    const servers = (): ServerInfo[] => ids.map((id) => ({ id, rack: rackOf(id), usedBytes: used(id), capacityBytes: 100 * GB }));
    const spread = (): number => Math.max(...servers().map((s) => s.usedBytes)) - Math.min(...servers().map((s) => s.usedBytes));
    expect(spread()).toBe(60 * GB);
    for (let round = 0; round < 100; round++) {
      const moves = planRebalance(servers(), (id) => [...replicas].filter(([, rs]) => rs.includes(id)).map(([h]) => h), (h) => replicas.get(h)!, idle(), config);
      if (moves.length === 0) break;
      expect(moves.length).toBeLessThanOrEqual(config.maxClonesInFlight);
      // apply some moves in random order, as clones finish
      for (const m of moves.filter(() => rand() < 0.8)) {
        const rs = replicas.get(m.handle)!;
        expect(rs).toContain(m.source);
        expect(rs).not.toContain(m.target);
        replicas.set(m.handle, [...rs.filter((s) => s !== m.source), m.target]);
        expect(new Set(replicas.get(m.handle)!.map(rackOf)).size).toBe(3);
      }
    }
    // within the threshold (10 GB of 100 GB) plus one chunk
    expect(spread()).toBeLessThanOrEqual(11 * GB);
  });

  it('a chunk at its target with two replicas on one rack is moved to a rack it misses, within the clone limits; one already spread is left alone', () => {
    const servers = [server('a1', 'A', 10), server('a2', 'A', 10), server('b1', 'B', 10), server('c1', 'C', 50), server('c2', 'C', 20)];
    const chunks = [
      { handle: 1, replicas: ['a1', 'a2', 'b1'] },
      { handle: 2, replicas: ['a1', 'b1', 'c1'] },
      { handle: 3, replicas: ['a1', 'a2', 'b1'] },
    ];
    const inFlight = idle();
    // c2 (the emptier of rack C) takes the first; with one clone per server, the third goes from a2 to c1
    expect(planSpread(chunks, servers, inFlight, config)).toEqual([
      { handle: 1, source: 'a1', target: 'c2' },
      { handle: 3, source: 'a2', target: 'c1' },
    ]);
    expect(inFlight.total).toBe(2);
    // no server on a missing rack: nothing to do
    expect(planSpread([{ handle: 4, replicas: ['a1', 'a2', 'b1'] }], servers.slice(0, 3), idle(), config)).toEqual([]);
  });
});
