import { describe, expect, it } from '@jest/globals';
import { AskTimeoutError, decode } from '@actorfs/actors';
import { SimCluster, type SimSend, Sleeper } from '@actorfs/actors/testing';
import { HaMasterClient, type Asker } from '../src/ha/master-client.ts';
import { ClientSession, LsClient, type Sequencer } from '@actorfs/lockservice';
import { masterLockPath } from '../src/ha/ha-config.ts';
import { decodeMasterFile } from '../src/ha/ha-protocol.ts';
import { ClientSession as GfsClientSession } from '../src/client/session.ts';
import { HA_GFS_CONFIG, haCell, masterReplica, mutate, readAt, type HaCell } from './ha-harness.ts';

const errorOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (e instanceof Error ? e.message : String(e)));

async function statusOf(sim: SimCluster, sleeper: Sleeper, cell: HaCell, name: string) {
  return sleeper.drive(sim.ask(cell.replicas.find((r) => r.name === name)!.ref, { type: 'ha-status' }));
}

let readers = 0;
/** The in-sync list in the master lock file, as a fresh lock-service session reads it. */
async function lockFileInSync(sim: SimCluster, sleeper: Sleeper, cell: HaCell): Promise<string[] | undefined> {
  const session = sim.spawn('c', ClientSession, { config: cell.lock.config, servers: cell.lock.servers, principal: 'reader' }, { name: `reader-${++readers}` });
  const ls = new LsClient(session, (r, msg) => sim.ask(r, msg as never));
  return sleeper.drive(
    (async () => {
      const { handle } = await ls.open(masterLockPath(cell.lock));
      return decodeMasterFile((await ls.getContentsAndStat(handle)).contents)?.inSync;
    })(),
  );
}

/** Waits (in virtual time) until `pred` holds, checking every 50 ms. */
async function until(sleeper: Sleeper, what: string, pred: () => Promise<boolean>, maxMs = 20_000): Promise<void> {
  await sleeper.drive(
    (async () => {
      for (let waited = 0; !(await pred()); waited += 50) {
        if (waited > maxMs) throw new Error(`timed out waiting until ${what}`);
        await sleeper.sleep(50);
      }
    })(),
    maxMs + 5_000,
  );
}

/** Makes /d, and waits until the master waits for its (only) backup. */
async function backupInSync(sim: SimCluster, sleeper: Sleeper, cell: HaCell): Promise<{ master: string; backup: HaCell['replicas'][number] }> {
  await sleeper.drive(cell.client.call({ type: 'mkdir', path: '/d' }));
  const master = (await sleeper.drive(masterReplica(sim, cell)))!;
  const backup = cell.replicas.find((r) => r.name !== master)!;
  await until(sleeper, 'the backup is in sync', async () => (await statusOf(sim, sleeper, cell, master)).inSync.includes(backup.name));
  return { master, backup };
}

describe('GFS master high availability in the simulator', () => {
  it('a backup wins the master lock and writes its address there; clients and chunkservers find it through the lock service', async () => {
    const sim = new SimCluster({ seed: 1 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    const work = (async () => {
      await cell.client.call({ type: 'mkdir', path: '/d' });
      await cell.client.call({ type: 'create', path: '/d/f' });
      return cell.client.call({ type: 'list', path: '/d' });
    })();
    expect(await sleeper.drive(work)).toEqual([{ name: 'f', kind: 'file' }]);
    const master = await sleeper.drive(masterReplica(sim, cell));
    expect(['m1', 'm2']).toContain(master);
    expect((await sleeper.drive(sim.ask(cell.locator, { type: 'where' })))?.node).toBe(master);
    await until(sleeper, 'every chunkserver reports to the master', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    // the others refuse what only the master does, saying so
    const other = cell.replicas.find((r) => r.name !== master)!;
    expect(await sleeper.drive(errorOf(sim.ask(other.ref, { type: 'create', path: '/x' })))).toMatch(/NotMasterError: .* is not the GFS master/);
  });

  it('a mutation is acknowledged only once the backups have synced its record, and many mutations share one replication round', async () => {
    const appends: number[] = [];
    const sim = new SimCluster({ seed: 2, onSend: (s: SimSend) => void ((s.body as { type?: string }).type === 'ha-append' && appends.push((s.body as { records: unknown[] }).records.length)) });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [], timing: { tailRecords: 1000 } });
    const { backup } = await backupInSync(sim, sleeper, cell);
    appends.length = 0;
    // 40 creates at once: each acknowledged one is on the backup when its answer comes
    const seenOnBackup: boolean[] = [];
    await sleeper.drive(
      Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          await cell.client.call({ type: 'create', path: `/d/f${i}` });
          const r = await sim.ask(backup.ref, { type: 'shadow-read', read: { type: 'stat', path: `/d/f${i}` } }).catch(() => undefined);
          seenOnBackup.push(r !== undefined && 'kind' in r.answer && r.answer.kind === 'file');
        }),
      ),
    );
    expect(seenOnBackup).toEqual(Array(40).fill(true));
    const withRecords = appends.filter((n) => n > 0);
    expect(withRecords.reduce((a, b) => a + b, 0)).toBe(40);
    expect(withRecords.length).toBeLessThan(40 / 2); // batched: rounds of up to 8 (maxRecordsPerAppend here)
  });

  it('records ship as they are logged, several appends in flight to a backup at once: a slow backup commit does not hold the next batch back', async () => {
    const sends: Array<{ time: number; to: string; records: number }> = [];
    const sim = new SimCluster({
      seed: 8,
      fsyncMs: [40, 40], // every commit, the backup's included, syncs for 40 ms
      onSend: (s: SimSend) => {
        const body = s.body as { type?: string; records?: unknown[] };
        if (body.type === 'ha-append') sends.push({ time: s.time, to: s.to.node, records: body.records!.length });
      },
    });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [], timing: { tailRecords: 1000 } });
    const { backup } = await backupInSync(sim, sleeper, cell);
    sends.length = 0;
    // a create every 10 ms, each waiting for the backup
    await sleeper.drive(
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await sleeper.sleep(i * 10);
          await cell.client.call({ type: 'create', path: `/d/f${i}` });
        }),
      ),
    );
    const batches = sends.filter((s) => s.to === backup.name && s.records > 0);
    expect(batches.reduce((n, s) => n + s.records, 0)).toBe(20);
    // one append at a time would leave a backup round (two 40 ms syncs at least) between batches
    const gaps = batches.slice(1).map((s, i) => s.time - batches[i]!.time);
    expect(gaps.filter((g) => g < 40).length).toBeGreaterThan(gaps.length / 2);
  });

  it('a backup whose node is down leaves the in-sync set at once (in the lock file first), and mutations go on without waiting out backupAckTimeoutMs', async () => {
    const sim = new SimCluster({ seed: 9, crashDetection: true });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [], timing: { backupAckTimeoutMs: 5_000 } });
    const { master, backup } = await backupInSync(sim, sleeper, cell);
    sim.crash(backup.name);
    const crashedAt = sim.now();
    await sleeper.drive(cell.client.call({ type: 'create', path: '/d/f' }));
    expect(sim.now() - crashedAt).toBeLessThan(1_000);
    // the master's in-sync set shrinks only after the lock file says so
    expect((await statusOf(sim, sleeper, cell, master)).inSync).toEqual([]);
    expect(await lockFileInSync(sim, sleeper, cell)).toEqual([]);
  });

  it('a silent backup (cut off, not known down) leaves the in-sync set after many of its round trips, well before backupAckTimeoutMs', async () => {
    const sim = new SimCluster({ seed: 10 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [], timing: { backupAckTimeoutMs: 5_000, minBackupAckTimeoutMs: 300 } });
    const { master, backup } = await backupInSync(sim, sleeper, cell);
    for (let i = 0; i < 5; i++) await sleeper.drive(cell.client.call({ type: 'create', path: `/d/warm${i}` })); // round trips measured
    sim.partition([backup.name], [master]);
    const cutAt = sim.now();
    await sleeper.drive(cell.client.call({ type: 'create', path: '/d/f' }));
    expect(sim.now() - cutAt).toBeLessThan(2_000);
    expect(await lockFileInSync(sim, sleeper, cell)).toEqual([]);
    sim.heal();
    await until(sleeper, 'the backup is in sync again', async () => (await statusOf(sim, sleeper, cell, master)).inSync.includes(backup.name));
    expect(await lockFileInSync(sim, sleeper, cell)).toEqual([backup.name]);
  });

  it("a client whose asks of the locator go unanswered (a busy locator, a lost answer) asks it again instead of failing the request", async () => {
    const sim = new SimCluster({ seed: 13 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    let lost = 0;
    const lossy: Asker = (ref, msg, o) => {
      if (msg.type !== 'where' || lost === 2) return sim.ask(ref, msg, o);
      lost++;
      return sleeper.sleep(o?.timeoutMs ?? 0).then(() => Promise.reject(new AskTimeoutError(String(ref.id), 'where', o?.timeoutMs ?? 0)));
    };
    const client = new HaMasterClient({ locator: cell.locator, ask: lossy, sleep: sleeper.sleep, timeoutMs: 1000 });
    await sleeper.drive(client.call({ type: 'mkdir', path: '/d' }), 30_000);
    expect(lost).toBe(2);
    expect(await sleeper.drive(cell.client.call({ type: 'list', path: '/' }))).toEqual([{ name: 'd', kind: 'dir' }]);
  });

  it("a client session's default retry budget covers a master failover and then the new master's wait of one chunk lease", async () => {
    const config = { ...HA_GFS_CONFIG, leaseMs: 10_000, mutationTimeoutMs: 1_000 };
    const sim = new SimCluster({ seed: 11 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { config });
    // default clientAttempts, clientRetryMs and clientBackoffMs
    const session = sim.spawn('c', GfsClientSession, { master: cell.replicas[0]!.ref, config, ha: { lock: cell.lock } }, { name: 'gfs-client' });
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(sim.ask(session, { type: 'create', path: '/f' }, { timeoutMs: 60_000 }));
    sim.crash((await sleeper.drive(masterReplica(sim, cell)))!);
    await sleeper.drive(sim.ask(session, { type: 'create', path: '/g' }, { timeoutMs: 60_000 })); // the session has found the new master
    // /f's first chunk needs a lease, which the new master grants only 10 s after it took office
    const data = new TextEncoder().encode('after failover');
    await sleeper.drive(sim.ask(session, { type: 'write', path: '/f', offset: 0, data }, { timeoutMs: 120_000 }), 120_000);
    expect(new TextDecoder().decode(await sleeper.drive(sim.ask(session, { type: 'read', path: '/f', offset: 0, length: data.length }, { timeoutMs: 60_000 })))).toBe('after failover');
  });

  it('a backup back from a crash rejoins the in-sync set while mutations keep coming (it is never level with the newest record then)', async () => {
    const sim = new SimCluster({ seed: 12, fsyncMs: [10, 10] });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [], timing: { tailRecords: 10_000 } });
    const { master, backup } = await backupInSync(sim, sleeper, cell);
    let loading = true;
    let created = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; loading; i++) {
          await cell.client.call({ type: 'create', path: `/d/c${c}-${i}` });
          created++;
        }
      }),
    );
    const rejoined = (async () => {
      await sleeper.sleep(300);
      sim.crash(backup.name);
      await sleeper.sleep(1_000);
      sim.restart(backup.name);
      for (let waited = 0; waited < 3_000; waited += 50) {
        await sleeper.sleep(50);
        if ((await sim.ask(cell.replicas.find((r) => r.name === master)!.ref, { type: 'ha-status' })).inSync.includes(backup.name)) return created;
      }
      return undefined;
    })();
    const createdWhenRejoined = await sleeper.drive(rejoined);
    const createdBefore = created;
    await sleeper.drive(sleeper.sleep(200));
    loading = false;
    await sleeper.drive(load);
    expect(createdWhenRejoined).toBeDefined();
    expect(created).toBeGreaterThan(createdBefore); // the load was still running when it rejoined
  });

  it('a backup that missed records catches up from the log; one behind the checkpoint, from the checkpoint in pieces and the log after it', async () => {
    const installs: number[] = [];
    const sim = new SimCluster({ seed: 3, onSend: (s: SimSend) => void ((s.body as { type?: string }).type === 'ha-install' && installs.push((s.body as { index: number }).index)) });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: ['s1'] });
    await sleeper.drive(cell.client.call({ type: 'mkdir', path: '/d' }));
    const master = (await sleeper.drive(masterReplica(sim, cell)))!;
    // the shadow is down for a few records (within the log)
    sim.crash('s1');
    for (let i = 0; i < 5; i++) await sleeper.drive(cell.client.call({ type: 'create', path: `/d/a${i}` }));
    sim.restart('s1');
    await until(sleeper, 'the shadow has caught up', async () => (await statusOf(sim, sleeper, cell, 's1')).lastSeq === (await statusOf(sim, sleeper, cell, master)).lastSeq);
    expect(installs).toEqual([]);
    // down for more records than a checkpoint covers (25 here): the master's log before it is gone
    sim.crash('s1');
    for (let i = 0; i < 40; i++) await sleeper.drive(cell.client.call({ type: 'create', path: `/d/b${i}` }));
    sim.restart('s1');
    await until(sleeper, 'the shadow has caught up again', async () => (await statusOf(sim, sleeper, cell, 's1')).lastSeq === (await statusOf(sim, sleeper, cell, master)).lastSeq);
    expect(installs.length).toBeGreaterThan(3); // a checkpoint of 4-row pieces, one per request
    expect(installs[0]).toBe(0);
    const s1 = cell.replicas.find((r) => r.name === 's1')!.ref;
    const onShadow = await sleeper.drive(readAt(sim, s1, { type: 'list', path: '/d' }));
    const onMaster = await sleeper.drive(cell.client.call({ type: 'list', path: '/d' }));
    expect(onShadow.answer).toEqual(onMaster);
    expect(onShadow.answer).toHaveLength(45);
  });

  it('when the master dies, a backup takes the lock after the session expires and the lock-delay passes, relearns chunk locations, and serves; nothing acknowledged is lost', async () => {
    const sim = new SimCluster({ seed: 4 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    await sleeper.drive(cell.client.call({ type: 'mkdir', path: '/d' }));
    const first = (await sleeper.drive(masterReplica(sim, cell)))!;
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/d/f' }));
    const { handle } = await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/d/f' }));
    for (let i = 0; i < 10; i++) await sleeper.drive(cell.client.call({ type: 'create', path: `/d/g${i}` }));
    const killedAt = sim.now();
    sim.crash(first);
    await sleeper.drive(mutate(cell.client, { type: 'create', path: '/d/after' }));
    const tookMs = sim.now() - killedAt;
    const second = (await sleeper.drive(masterReplica(sim, cell)))!;
    expect(second).not.toBe(first);
    // the session lease (1 s) and the lock-delay (500 ms) pass before the backup may take over
    expect(tookMs).toBeGreaterThan(1500);
    const names = (await sleeper.drive(cell.client.call({ type: 'list', path: '/d' }))).map((e) => e.name).sort();
    expect(names).toEqual(['after', 'f', ...Array.from({ length: 10 }, (_, i) => `g${i}`)].sort());
    await until(sleeper, 'the new master knows the chunk replicas', async () => (await cell.client.call({ type: 'locate', path: '/d/f', index: 0 })).replicas.length === 3);
    expect((await sleeper.drive(cell.client.call({ type: 'locate', path: '/d/f', index: 0 }))).handle).toBe(handle);
  });

  it('a version raise reaches no chunkserver before the in-sync backup has synced the raised version: a master taking over knows every version a server may hold', async () => {
    const raises: Array<{ version: number; onBackup: boolean }> = [];
    let backupNode: string | undefined;
    /** Whether the backup's synced log holds the set-version record of `handle` at `version`. */
    const onBackup = (handle: number, version: number): boolean =>
      [...sim.store(backupNode!).range({ start: [], end: ['\uffff'] })].some(([, v]) => {
        const r = decode(v) as { type?: unknown; handle?: unknown; version?: unknown } | null;
        return r?.type === 'set-version' && r.handle === handle && r.version === version;
      });
    const sim = new SimCluster({
      seed: 9,
      fsyncMs: [20, 20], // the backup's commit ends well after the master's own
      onSend: (s: SimSend) => {
        const b = s.body as { type?: string; handle?: number; version?: number };
        if (b.type === 'raise-version' && backupNode) raises.push({ version: b.version!, onBackup: onBackup(b.handle!, b.version!) });
      },
    });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { shadows: [] });
    const { backup } = await backupInSync(sim, sleeper, cell);
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/d/f' }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/d/f' }));
    await until(sleeper, 'replicas known', async () => (await cell.client.call({ type: 'locate', path: '/d/f', index: 0 })).replicas.length === 3);
    await sleeper.drive(sleeper.sleep(1000)); // the first master waits out a lease before granting one
    backupNode = backup.name;
    const lease = await sleeper.drive(cell.client.call({ type: 'lease', path: '/d/f', index: 0 }));
    expect(raises.map((r) => r.version)).toEqual([lease.version, lease.version, lease.version]);
    expect(raises.every((r) => r.onBackup)).toBe(true);
  });

  it("a chunkserver a lease went out without, back with the raised version after a failover, is never named a replica with its stale bytes: the new master knows a version newer than its", async () => {
    // the grant waits for cs1 past the time cs1 is taken for dead (serverTimeoutMs 600 ms): it goes out without it
    const config = { ...HA_GFS_CONFIG, leaseGrantTimeoutMs: 1000 };
    const sim = new SimCluster({ seed: 21 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { config });
    const session = sim.spawn('c', GfsClientSession, { master: cell.replicas[0]!.ref, config, ha: { lock: cell.lock } }, { name: 'gfs-client' });
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(sim.ask(session, { type: 'create', path: '/f' }, { timeoutMs: 60_000 }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/f' }));
    await until(sleeper, 'replicas known', async () => (await cell.client.call({ type: 'locate', path: '/f', index: 0 })).replicas.length === 3);
    await sleeper.drive(sleeper.sleep(1000)); // the first master too waits out a lease before granting one
    // cs1's messages to the master replicas are lost: the raise reaches it, the lease goes out without it
    sim.partition(['cs1'], cell.replicas.map((r) => r.name), { oneWay: true });
    const data = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff);
    await sleeper.drive(sim.ask(session, { type: 'write', path: '/f', offset: 0, data }, { timeoutMs: 60_000 }), 60_000);
    const { handle } = await sleeper.drive(cell.client.call({ type: 'locate', path: '/f', index: 0 }));
    expect((await sleeper.drive(sim.ask(cell.chunkservers.get('cs1')!, { type: 'chunk-info', handle })))?.lengthBytes).toBe(0);
    const first = (await sleeper.drive(masterReplica(sim, cell)))!;
    sim.crash(first);
    await sleeper.drive(mutate(cell.client, { type: 'create', path: '/g' }));
    expect(await sleeper.drive(masterReplica(sim, cell))).not.toBe(first);
    sim.heal();
    // right after cs1 reports to the new master (a clone may give it a fresh copy later)
    await until(sleeper, 'cs1 reported to the new master', async () => (await cell.client.call({ type: 'status' })).servers.some((s) => s.id === 'cs1'));
    const after = await sleeper.drive(cell.client.call({ type: 'locate', path: '/f', index: 0 }));
    expect(after.replicas.length).toBeGreaterThan(1);
    for (const server of after.replicas) {
      const held = await sleeper.drive(sim.ask(cell.chunkservers.get(server)!, { type: 'read-data', handle, version: after.version, offset: 0, length: data.length }));
      expect({ server, same: Buffer.concat(held).equals(Buffer.from(data)) }).toEqual({ server, same: true });
    }
  });

  it('a new master grants no chunk lease until the longest lease a deposed master could have granted has run out', async () => {
    const sim = new SimCluster({ seed: 5 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/f' }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/f' }));
    await until(sleeper, 'replicas known', async () => (await cell.client.call({ type: 'locate', path: '/f', index: 0 })).replicas.length === 3);
    await sleeper.drive(sleeper.sleep(1000)); // the first master too waits out a lease before granting one
    const lease = await sleeper.drive(cell.client.call({ type: 'lease', path: '/f', index: 0 }));
    sim.crash((await sleeper.drive(masterReplica(sim, cell)))!);
    await sleeper.drive(mutate(cell.client, { type: 'create', path: '/g' }));
    const tookOfficeBy = sim.now();
    // the old lease (1 s) was granted before the old master died, and so ends within 1 s of the new master's start
    expect(await sleeper.drive(errorOf(cell.client.call({ type: 'lease', path: '/f', index: 0 })))).toMatch(/grants no chunk lease for \d+ ms more/);
    await sleeper.drive(sleeper.sleep(1000));
    const next = await sleeper.drive(cell.client.call({ type: 'lease', path: '/f', index: 0 }));
    expect(next.version).toBeGreaterThan(lease.version);
    expect(sim.now() - tookOfficeBy).toBeGreaterThanOrEqual(1000);
  });

  it("chunkservers and backups refuse a deposed master's older sequencer with a clear error", async () => {
    const sim = new SimCluster({ seed: 6 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/f' }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/f' }));
    const first = (await sleeper.drive(masterReplica(sim, cell)))!;
    const old = (await statusOf(sim, sleeper, cell, first)).generation!;
    sim.crash(first);
    await sleeper.drive(mutate(cell.client, { type: 'create', path: '/g' }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/g' })); // the chunkservers see the new sequencer
    const second = (await sleeper.drive(masterReplica(sim, cell)))!;
    const stale: Sequencer = { lock: `/ls/gfs-test/gfs/master`, mode: 'exclusive', generation: old };
    const cs = cell.chunkservers.get('cs1')!;
    const before = await sleeper.drive(sim.ask(cs, { type: 'chunk-info', handle: 1 }));
    // an order the old master would send: refused by the chunkserver (asked here, to see the error), the chunk untouched
    const raise = sim.ask(cs as never, { type: 'raise-version', handle: 1, version: 100, sequencer: stale } as never);
    expect(await sleeper.drive(errorOf(raise))).toMatch(/refused a master's order: STALE_SEQUENCER: .*generation \d+ of that lock has been seen/);
    expect(await sleeper.drive(sim.ask(cs, { type: 'chunk-info', handle: 1 }))).toEqual(before);
    // an append the old master would send: refused by the backup that became master's peer
    const peer = cell.replicas.find((r) => r.name !== first && r.name !== second)!;
    const append = sim.ask(peer.ref, { type: 'ha-append', sequencer: stale, from: first, prevSeq: 0, prevGeneration: 0, records: [], terms: [], masterLastSeq: 0 });
    expect(await sleeper.drive(errorOf(append))).toMatch(/refused m\d's request: STALE_SEQUENCER/);
  });

  it('shadows answer list, stat and locate with their lag in records and ms; a client reads from a shadow when the master is unreachable', async () => {
    const sim = new SimCluster({ seed: 7 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper, { backups: ['m1'], shadows: ['s1', 's2'] });
    await until(sleeper, 'chunkservers reported', async () => (await cell.client.call({ type: 'status' })).servers.length === 3);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/f' }));
    await sleeper.drive(cell.client.call({ type: 'add-chunk', path: '/f' }));
    await sleeper.drive(sleeper.sleep(500));
    const s1 = cell.replicas.find((r) => r.name === 's1')!.ref;
    const fresh = await sleeper.drive(readAt(sim, s1, { type: 'stat', path: '/f' }));
    expect(fresh).toMatchObject({ answer: { kind: 'file', chunks: 1 }, lagRecords: 0, replica: 's1' });
    expect(fresh.lagMs).toBeLessThan(300); // pinged every 100 ms
    const located = await sleeper.drive(readAt(sim, s1, { type: 'locate', path: '/f', index: 0 }));
    expect(located.answer.replicas).toHaveLength(3);
    // cut s1 off from the master: its lag grows
    sim.partition(['s1'], ['m1']);
    await sleeper.drive(cell.client.call({ type: 'create', path: '/g' }));
    await sleeper.drive(sleeper.sleep(1000));
    const behind = await sleeper.drive(readAt(sim, s1, { type: 'list', path: '/' }));
    expect(behind.answer.map((e) => e.name)).toEqual(['f']);
    expect(behind.lagMs).toBeGreaterThanOrEqual(1000);
    sim.heal();
    // the master (the only backup) is unreachable: reads go to a shadow
    sim.partition(['sim'], ['m1']); // the test asks from the simulator's driver node
    const read = await sleeper.drive(cell.client.read({ type: 'list', path: '/' }));
    expect(read.replica).toMatch(/^s[12]$/);
    expect(read.answer.map((e) => e.name).sort()).toEqual(['f', 'g']);
    expect(typeof read.lagRecords).toBe('number');
  });
});
