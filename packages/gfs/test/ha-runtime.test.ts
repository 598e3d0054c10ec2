import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { planCell } from '@actorfs/lockservice';
import { Chunkserver } from '../src/chunkserver/chunkserver-actor.ts';
import type { LockCellRef, MasterReplica } from '../src/ha/ha-config.ts';
import { HaMasterClient } from '../src/ha/master-client.ts';
import { MasterLocator } from '../src/ha/master-locator.ts';
import { planMasterReplicas } from '../src/ha/plan.ts';
import { HA_RUNTIME_CELL } from './fixtures/ha-runtime-cell.ts';
import { mutate } from './ha-harness.ts';

/**
 * A GFS cell with a highly available master on the real runtime: a 3-replica lock-service cell,
 * two master replicas and three chunkservers on worker threads with LMDB, clients on the main
 * thread. The master's thread is killed mid-workload.
 */
const config = { chunkSizeBytes: 1024 * 1024, heartbeatIntervalMs: 100, serverTimeoutMs: 1000, scanIntervalMs: 100, leaseMs: 2000 };
let dataDir: string;
let system: ActorSystem;
let replicas: MasterReplica[];
let client: HaMasterClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gfs-ha-runtime-'));
  system = await ActorSystem.start({
    workers: [...HA_RUNTIME_CELL.nodes, 'm1', 'm2', 'cs1', 'cs2', 'cs3'],
    dataDir,
    modules: [new URL('./fixtures/ha-runtime-cell.ts', import.meta.url)],
  });
  const plan = planCell(HA_RUNTIME_CELL);
  for (const s of plan.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
  const lock: LockCellRef = { config: HA_RUNTIME_CELL, servers: plan.servers };
  const masters = planMasterReplicas({ lock, backups: ['m1', 'm2'], config });
  replicas = masters.replicas;
  for (const s of masters.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
  for (const [i, server] of ['cs1', 'cs2', 'cs3'].entries()) {
    const props = { server, rack: `r${i}`, master: replicas[0]!.ref, capacityBytes: 1 << 30, config, ha: { lock, replicas: replicas.map((r) => r.ref) } };
    await system.spawn(Chunkserver, props, { node: server, name: 'chunkserver' });
  }
  const locator = await system.spawn(MasterLocator, { lock, principal: 'runtime-client' }, { name: 'locator' });
  client = new HaMasterClient({ locator, ask: (r, m, o) => system.ask(r, m, o), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), timeoutMs: 2000 });
}, 120_000);

afterAll(async () => {
  await system?.shutdown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function masterNode(): Promise<string | undefined> {
  for (const r of replicas) {
    const s = await system.ask(r.ref as ActorRef<never>, { type: 'ha-status' } as never, { timeoutMs: 1000 }).catch(() => undefined);
    if ((s as { role?: string } | undefined)?.role === 'master') return r.name;
  }
  return undefined;
}

describe('GFS master high availability on worker threads', () => {
  it("kill the master's thread mid-workload: a backup takes over, clients carry on, every acknowledged file and chunk is there", async () => {
    await client.call({ type: 'mkdir', path: '/w' });
    for (let tries = 0; (await client.call({ type: 'status' })).servers.length < 3; tries++) {
      if (tries > 100) throw new Error('chunkservers did not report');
      await new Promise((r) => setTimeout(r, 50));
    }
    const first = await masterNode();
    expect(first).toBeDefined();
    const acked = new Map<string, number>(); // path -> chunks acknowledged
    let killed = false;
    const worker = async (c: number): Promise<void> => {
      for (let i = 0; i < 30; i++) {
        const path = `/w/c${c}-${i}`;
        await mutate(client, { type: 'create', path });
        acked.set(path, 0);
        if (i % 3 === 0) {
          // a chunk whose add is lost with the master is unknown: only acknowledged ones count
          const added = await client.call({ type: 'add-chunk', path }).then(() => true, () => false);
          if (added) acked.set(path, 1);
        }
        if (c === 0 && i === 10 && !killed) {
          killed = true;
          await system.killNode(first!);
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    expect(killed).toBe(true);
    const second = await masterNode();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const names = new Set((await client.call({ type: 'list', path: '/w' })).map((e) => `/w/${e.name}`));
    for (const [path, chunks] of acked) {
      expect({ path, present: names.has(path) }).toEqual({ path, present: true });
      const stat = await client.call({ type: 'stat', path });
      expect(stat.kind === 'file' && stat.chunks >= chunks).toBe(true);
    }
    expect(acked.size).toBe(120);
  }, 120_000);
});
