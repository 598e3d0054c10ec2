import { describe, expect, it } from '@jest/globals';
import { cellConfig, planCell } from '@actorfs/lockservice';
import { gfsClusterConfig, planGfsCluster } from '../src/cluster.ts';

describe('the shared cluster plan', () => {
  it('fills defaults: three chunkservers on racks of their own, 1 TiB disks, the paper\'s sizes and timings', () => {
    const c = gfsClusterConfig('g');
    expect(c.masterNode).toBe('g-master');
    expect(c.chunkservers).toEqual([
      { server: 'cs1', node: 'g-cs1', rack: 'rack1', capacityBytes: 2 ** 40 },
      { server: 'cs2', node: 'g-cs2', rack: 'rack2', capacityBytes: 2 ** 40 },
      { server: 'cs3', node: 'g-cs3', rack: 'rack3', capacityBytes: 2 ** 40 },
    ]);
    expect(c.gfs).toMatchObject({ chunkSizeBytes: 64 * 2 ** 20, replicas: 3, leaseMs: 60_000, gcDelayMs: 3 * 24 * 3600 * 1000 });
  });

  it('spreads numbered chunkservers over the racks given, and takes each one\'s place where given', () => {
    const c = gfsClusterConfig('x', { chunkservers: 5, racks: ['A', 'B'], config: { chunkSizeBytes: 1 << 20 } });
    expect(c.chunkservers.map((s) => s.rack)).toEqual(['A', 'B', 'A', 'B', 'A']);
    expect(c.gfs.chunkSizeBytes).toBe(1 << 20);
    const placed = gfsClusterConfig('y', { masterNode: 'm', chunkservers: [{ server: 'east', node: 'n1', rack: 'R', capacityBytes: 10 }, {}] });
    expect(placed.chunkservers).toEqual([
      { server: 'east', node: 'n1', rack: 'R', capacityBytes: 10 },
      { server: 'cs2', node: 'y-cs2', rack: 'rack2', capacityBytes: 2 ** 40 },
    ]);
  });

  it('refuses a cluster that cannot work, naming the problem', () => {
    expect(() => gfsClusterConfig('bad name')).toThrow(/bad name "bad name"/);
    expect(() => gfsClusterConfig('g', { chunkservers: 0 })).toThrow(/at least one chunkserver/);
    expect(() => gfsClusterConfig('g', { masterNode: 'n', chunkservers: [{ node: 'n' }] })).toThrow(/nodes of their own, got n, n/);
    expect(() => gfsClusterConfig('g', { chunkservers: [{ server: 'a', node: 'n1' }, { server: 'a', node: 'n2' }] })).toThrow(/chunkserver ids must differ/);
    expect(() => gfsClusterConfig('g', { capacityBytes: -1 })).toThrow(/cs1's capacityBytes must be a positive integer/);
    expect(() => gfsClusterConfig('g', { config: { leaseMs: 0 } })).toThrow(/leaseMs must be a positive integer/);
  });

  it('plans a master and one chunkserver per node, each chunkserver given the master\'s ref, its rack and the shared config', () => {
    const plan = planGfsCluster(gfsClusterConfig('g', { racks: ['A', 'B', 'C'], config: { leaseMs: 1000 } }));
    expect(plan.nodes).toEqual(['g-master', 'g-cs1', 'g-cs2', 'g-cs3']);
    expect(plan.on('g-master').map((s) => s.name)).toEqual(['gfs-master']);
    const [cs2] = plan.on('g-cs2');
    expect(cs2!.props).toMatchObject({ server: 'cs2', rack: 'B', master: plan.master, config: { leaseMs: 1000 } });
    expect(plan.chunkservers.get('cs2')).toEqual(expect.objectContaining({ node: 'g-cs2', id: 'gfs-chunkserver' }));
  });

  it('with ha, plans master replicas on their own nodes, and chunkservers and clients that find the master through the lock service', () => {
    const cell = cellConfig('c', { nodes: ['l1', 'l2', 'l3'] });
    const lock = { config: cell, servers: planCell(cell).servers };
    const plan = planGfsCluster(gfsClusterConfig('g'), { lock, backups: ['m1', 'm2'], shadows: ['s1'] });
    expect(plan.nodes).toEqual(['m1', 'm2', 's1', 'g-cs1', 'g-cs2', 'g-cs3']);
    expect(plan.on('g-master')).toEqual([]);
    expect(plan.replicas.map((r) => [r.name, r.role])).toEqual([['m1', 'backup'], ['m2', 'backup'], ['s1', 'shadow']]);
    expect(plan.master).toEqual(plan.replicas[0]!.ref);
    expect(plan.on('m2')[0]!.props).toMatchObject({ ha: { self: 'm2', lock, replicas: plan.replicas } });
    expect(plan.on('g-cs1')[0]!.props).toMatchObject({ master: plan.master, ha: { lock, replicas: plan.replicas.map((r) => r.ref) } });
    expect(plan.clientProps('A')).toMatchObject({ master: plan.master, rack: 'A', ha: { lock } });
    expect(() => planGfsCluster(gfsClusterConfig('g'), { lock, backups: [] })).toThrow(/at least one replica that may lead/);
    expect(() => planGfsCluster(gfsClusterConfig('g'), { lock, backups: ['m1'], shadows: ['g-cs2'] })).toThrow(/master replicas need nodes of their own, g-cs2 also runs a chunkserver/);
  });
});
