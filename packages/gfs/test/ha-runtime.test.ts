import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { planCell } from '@actorfs/lockservice';
import { Chunkserver } from '../src/chunkserver/chunkserver-actor.ts';
import { GfsClient } from '../src/client/api.ts';
import { ClientSession } from '../src/client/session.ts';
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
// many chunks are made within a minute here: placement's limit on recent creations per server is lifted
const config = { chunkSizeBytes: 1024 * 1024, heartbeatIntervalMs: 100, serverTimeoutMs: 1000, scanIntervalMs: 100, leaseMs: 2000, maxRecentCreationsPerServer: 1000 };
let dataDir: string;
let system: ActorSystem;
let replicas: MasterReplica[];
let client: HaMasterClient;
let files: GfsClient;

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
  // the client's default retry budget outlasts a failover and the new master's wait for old leases (about 3 s + 2 s here)
  const session = await system.spawn(ClientSession, { master: replicas[0]!.ref, config, ha: { lock } }, { name: 'gfs-client' });
  files = new GfsClient(session, (r, m, o) => system.ask(r, m as never, o));
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
  it("kill the master's thread mid-workload: a backup takes over, clients carry on, every acknowledged file, chunk, write and record is there", async () => {
    await client.call({ type: 'mkdir', path: '/w' });
    for (const deadline = Date.now() + 60_000; (await client.call({ type: 'status' })).servers.length < 3; ) {
      if (Date.now() > deadline) throw new Error('chunkservers did not report within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const first = await masterNode();
    expect(first).toBeDefined();
    const acked = new Map<string, number>(); // path -> chunks acknowledged
    let killed = false;
    let done = false;
    await files.create('/w/log');
    await files.create('/w/data');
    const records = new Set<string>();
    const appender = async (a: number): Promise<void> => {
      for (let i = 0; !done; i++) {
        const id = `a${a}-${i}`;
        await files.append('/w/log', new TextEncoder().encode(id), id);
        records.add(id);
      }
    };
    const block = (n: number): Uint8Array => Uint8Array.from({ length: 4096 }, (_, i) => (n * 31 + i) & 0xff);
    let blocksWritten = 0;
    const writer = async (): Promise<void> => {
      for (let n = 0; !done; n++) {
        await files.write('/w/data', n * 4096, block(n));
        blocksWritten = n + 1;
      }
    };
    const data = [appender(0), appender(1), writer()];
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
    done = true;
    await Promise.all(data);
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
    const found = new Set<string>();
    for await (const r of files.records('/w/log')) found.add(r.id);
    for (const id of records) expect({ id, found: found.has(id) }).toEqual({ id, found: true });
    expect(blocksWritten).toBeGreaterThan(0);
    for (let n = 0; n < blocksWritten; n++) expect(Buffer.from(await files.read('/w/data', n * 4096, 4096)).equals(block(n))).toBe(true);
  }, 120_000);
});
