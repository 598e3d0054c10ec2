import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorSystem } from '@actorfs/actors';
import { GFS_MODULES, gfsClusterConfig, planGfsCluster } from '../src/cluster.ts';

/** Worker threads and real LMDB: a master and four chunkservers on three racks, from the shared plan. */
const GC_DELAY_MS = 1_500;
const plan = planGfsCluster(
  gfsClusterConfig('rt', {
    chunkservers: ['A', 'B', 'C', 'A'].map((rack) => ({ rack, capacityBytes: 1 << 30 })),
    config: { chunkSizeBytes: 1 << 20, heartbeatIntervalMs: 100, serverTimeoutMs: 600, scanIntervalMs: 100, gcDelayMs: GC_DELAY_MS },
  }),
);
const rackOf = new Map(plan.config.chunkservers.map((c) => [c.server, c.rack]));
const nodeOf = new Map(plan.config.chunkservers.map((c) => [c.server, c.node]));
let sys: ActorSystem;

async function until(what: string, pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: plan.nodes, modules: [...GFS_MODULES] });
  for (const node of plan.nodes) await plan.spawnOn(sys, node);
  await until('all chunkservers reported', async () => (await sys.ask(plan.master, { type: 'status' })).servers.length === 4);
}, 60_000);

afterAll(async () => {
  await sys.shutdown();
});

describe('a GFS cluster on worker threads with LMDB', () => {
  it("a master whose thread is killed mid-workload recovers the namespace: every acknowledged create is there after restart", async () => {
    await sys.ask(plan.master, { type: 'mkdir', path: '/w' });
    const acked: string[] = [];
    let stop = false;
    const clients = Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        const path = `/w/c${c}-${i}`;
        try {
          await sys.ask(plan.master, { type: 'create', path });
          acked.push(path);
        } catch {
          return; // the master is gone: this client stops
        }
      }
    });
    await until('creates under way', async () => acked.length >= 200);
    await sys.killNode(plan.config.masterNode);
    stop = true;
    await Promise.all(clients);
    await sys.startNode(plan.config.masterNode);
    await plan.spawnOn(sys, plan.config.masterNode);
    const names = new Set((await sys.ask(plan.master, { type: 'list', path: '/w' })).map((e) => `/w/${e.name}`));
    const lost = acked.filter((p) => !names.has(p));
    expect({ acked: acked.length >= 200, lost }).toEqual({ acked: true, lost: [] });
  }, 60_000);

  it("a killed chunkserver's chunks are cloned back to three replicas on three racks, with their data", async () => {
    await until('chunkservers known again', async () => (await sys.ask(plan.master, { type: 'status' })).servers.length === 4);
    await sys.ask(plan.master, { type: 'create', path: '/r' });
    const { handle, replicas } = await sys.ask(plan.master, { type: 'add-chunk', path: '/r' });
    expect(new Set(replicas.map((s) => rackOf.get(s))).size).toBe(3);
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 11) & 0xff);
    for (const s of replicas) await sys.ask(plan.chunkservers.get(s)!, { type: 'write', handle, offset: 0, data });
    // the replica on rack A: the other server of A is the only way back to three racks
    const victim = replicas.find((s) => rackOf.get(s) === 'A')!;
    await sys.killNode(nodeOf.get(victim)!);
    let now: string[] = [];
    await until('re-replicated', async () => {
      now = (await sys.ask(plan.master, { type: 'locate', path: '/r', index: 0 })).replicas;
      return now.length === 3 && !now.includes(victim);
    });
    expect(new Set(now.map((s) => rackOf.get(s))).size).toBe(3);
    const fresh = now.find((s) => !replicas.includes(s))!;
    const copied = await sys.ask(plan.chunkservers.get(fresh)!, { type: 'read', handle, offset: 0, length: data.length });
    expect(Buffer.from(copied).equals(data)).toBe(true);
  }, 60_000);

  it('delete hides a file, undelete brings it back, and after the delay it is reclaimed and its replicas deleted', async () => {
    await sys.ask(plan.master, { type: 'create', path: '/gc' });
    const { handle, replicas } = await sys.ask(plan.master, { type: 'add-chunk', path: '/gc' });
    await until('replicas known', async () => (await sys.ask(plan.master, { type: 'locate', path: '/gc', index: 0 })).replicas.length === replicas.length);
    await sys.ask(plan.master, { type: 'delete', path: '/gc' });
    await expect(sys.ask(plan.master, { type: 'stat', path: '/gc' })).rejects.toThrow(/does not exist/);
    await sys.ask(plan.master, { type: 'undelete', path: '/gc' });
    expect(await sys.ask(plan.master, { type: 'stat', path: '/gc' })).toEqual({ kind: 'file', chunks: 1 });
    const deletedAt = Date.now();
    await sys.ask(plan.master, { type: 'delete', path: '/gc' });
    expect((await sys.ask(plan.master, { type: 'list', path: '/' })).map((e) => e.name)).toContainEqual(expect.stringMatching(/^\.deleted~\d+~gc$/));
    await until('reclaimed', async () => !(await sys.ask(plan.master, { type: 'list', path: '/' })).some((e) => e.name.endsWith('~gc')));
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(GC_DELAY_MS - 50);
    await until('replicas deleted', async () => {
      for (const s of replicas) {
        const node = nodeOf.get(s)!;
        const held = await sys.ask(plan.chunkservers.get(s)!, { type: 'chunk-info', handle }).catch(() => (node ? null : null));
        if (held) return false;
      }
      return true;
    });
  }, 60_000);
});
