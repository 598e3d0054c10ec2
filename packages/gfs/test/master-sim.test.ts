import { describe, expect, it } from '@jest/globals';
import { decode, encode, RemoteActorError, seededRandom, type ActorRef } from '@actorfs/actors';
import { forEachSeed, SimCluster } from '@actorfs/actors/testing';
import { Chunkserver, CHUNK_DOMAIN } from '../src/chunkserver/chunkserver-actor.ts';
import { packBlock, unpackBlock } from '../src/chunkserver/block-store.ts';
import type { GfsConfig } from '../src/config.ts';
import { Master } from '../src/master/master-actor.ts';
import type { ChunkLease, ChunkserverMsg, MasterMsg } from '../src/protocol.ts';

const config = { chunkSizeBytes: 64 * 1024, blockSizeBytes: 4096, heartbeatIntervalMs: 100, scanIntervalMs: 100, checkpointEveryRecords: 7, checkpointPieceRows: 3, leaseMs: 1000, leaseGrantTimeoutMs: 500, clonePieceBytes: 1024, cloneTimeoutMs: 1000 };

function bootMaster(sim: SimCluster, extra: Partial<GfsConfig> = {}): () => ActorRef<MasterMsg> {
  let master: ActorRef<MasterMsg> | undefined;
  sim.addNode('m', { boot: (node) => void (master = node.spawn(Master, { config: { ...config, ...extra } }, { name: 'master' })) });
  return () => master!;
}

/** Chunkservers cs1, cs2, … on the given racks (or named servers, with [name, rack] pairs). */
function bootChunkservers(
  sim: SimCluster,
  master: ActorRef<MasterMsg>,
  racks: Array<string | readonly [string, string]>,
  capacityBytes = 1 << 30,
  refs = new Map<string, ActorRef<ChunkserverMsg>>(),
): Map<string, ActorRef<ChunkserverMsg>> {
  racks.forEach((r, i) => {
    const [server, rack] = typeof r === 'string' ? [`cs${i + 1}`, r] : r;
    sim.addNode(server, {
      boot: (node) => void refs.set(server, node.spawn(Chunkserver, { server, rack, master, capacityBytes, config }, { name: 'chunkserver' })),
    });
  });
  return refs;
}

/** A refusal the namespace explains leaves it unchanged; a lost ask leaves the outcome unknown; anything else is a bug. */
function classify(err: unknown): 'refused' | 'unknown' | `bug: ${string}` {
  if (!(err instanceof RemoteActorError)) return 'unknown';
  if (err.remoteName === 'MetadataError' && /does not exist|already exists|is a directory|is not a directory/.test(err.message)) return 'refused';
  return `bug: ${err.message}`;
}

/** /f with one chunk holding `before` on every replica, snapshotted as /g (the chunk is shared). */
async function snapshotted(sim: SimCluster): Promise<{ master: ActorRef<MasterMsg>; servers: Map<string, ActorRef<ChunkserverMsg>>; handle: number; before: Uint8Array }> {
  const master = bootMaster(sim)();
  const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
  const { handle } = await fileWithChunk(sim, master);
  const before = new TextEncoder().encode('before the snapshot');
  for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle, offset: 0, data: before });
  await sim.call(master, { type: 'snapshot', source: '/f', target: '/g' });
  return { master, servers, handle, before };
}

/** Asks for the lease on a file's first chunk until it is granted (refusals meanwhile say "ask again"). */
async function untilLeased(sim: SimCluster, master: ActorRef<MasterMsg>, path: string): Promise<ChunkLease> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await sim.call(master, { type: 'lease', path, index: 0 });
    } catch (err) {
      if (attempt >= 30 || !/ask again/.test(String(err))) throw err;
      await sim.runFor(100);
    }
  }
}

/** Lets the chunkservers report, then makes /f with one chunk whose replicas the master knows. */
async function fileWithChunk(sim: SimCluster, master: ActorRef<MasterMsg>): Promise<{ handle: number }> {
  await sim.runFor(300);
  await sim.call(master, { type: 'create', path: '/f' });
  const { handle } = await sim.call(master, { type: 'add-chunk', path: '/f' });
  await sim.runFor(300);
  return { handle };
}

describe('master on the simulator', () => {
  it('no acknowledged namespace mutation is lost when the master crashes (op log synced before the reply, checkpoints plus log on restart)', async () => {
    await forEachSeed(20, async (seed) => {
      const sim = new SimCluster({ seed, network: { drop: 0.02, duplicate: 0.02 } });
      const master = bootMaster(sim);
      const rand = seededRandom(seed);
      /** Per path: what the last operation on it that we know the outcome of left there, or unknown. */
      const expected = new Map<string, 'exists' | 'absent' | 'unknown'>();
      for (let i = 0; i < 60; i++) {
        const dir = `/d${Math.floor(rand() * 3)}`;
        const file = `${dir}/f${Math.floor(rand() * 4)}`;
        const r = rand();
        const [path, msg, after]: [string, MasterMsg, 'exists' | 'absent'] =
          r < 0.2 ? [dir, { type: 'mkdir', path: dir }, 'exists'] : r < 0.75 ? [file, { type: 'create', path: file }, 'exists'] : [file, { type: 'delete', path: file }, 'absent'];
        let outcome: ReturnType<typeof classify> | 'acked' | undefined;
        sim.ask(master(), msg as MasterMsg & { type: 'create' }, { timeoutMs: 500 }).then(
          () => (outcome = 'acked'),
          (err: unknown) => (outcome = classify(err)),
        );
        await sim.runFor(rand() * 4);
        if (rand() < 0.15) {
          sim.crash('m');
          await sim.runFor(rand() * 50);
          sim.restart('m');
        }
        await sim.runUntil(() => outcome !== undefined, { maxMs: 1000 });
        expect(outcome).not.toMatch(/^bug/);
        if (outcome === 'acked') expected.set(path, after);
        else if (outcome === 'unknown') expected.set(path, 'unknown');
        // a directory's fate decides its files' where it is gone (a dir is never removed here, so only 'unknown' spreads)
      }
      sim.crash('m');
      sim.restart('m');
      for (const [path, state] of expected) {
        if (state === 'unknown') continue;
        const got = await sim.call(master(), { type: 'stat', path }, { timeoutMs: 2000 }).then(
          () => 'exists',
          (err: unknown) => (err instanceof RemoteActorError && /does not exist/.test(err.message) ? 'absent' : `error ${String(err)}`),
        );
        expect({ path, got }).toEqual({ path, got: state });
      }
    });
  });

  it('a restarted master recovers from its newest checkpoint plus the log records after it', async () => {
    const sim = new SimCluster({ seed: 13 });
    const master = bootMaster(sim);
    for (let i = 0; i < 20; i++) await sim.call(master(), { type: 'create', path: `/f${i}` });
    // checkpoints after every 7 records: two of them, then 6 records in the log
    expect((await sim.call(master(), { type: 'status' })).recordsSinceCheckpoint).toBe(6);
    sim.crash('m');
    sim.restart('m');
    expect((await sim.call(master(), { type: 'status' })).recordsSinceCheckpoint).toBe(6);
    expect((await sim.call(master(), { type: 'list', path: '/' })).map((e) => e.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`).sort());
    // an explicit checkpoint leaves no record to replay
    expect(await sim.call(master(), { type: 'checkpoint' })).toBeGreaterThan(0);
    sim.crash('m');
    sim.restart('m');
    expect((await sim.call(master(), { type: 'status' })).recordsSinceCheckpoint).toBe(0);
    expect(await sim.call(master(), { type: 'list', path: '/' })).toHaveLength(20);
  });

  it('bad paths and operations that do not fit get clear errors, and the master goes on serving', async () => {
    const sim = new SimCluster({ seed: 1 });
    const master = bootMaster(sim)();
    const refused = (msg: MasterMsg): Promise<string> => sim.call(master, msg as MasterMsg & { type: 'create' }).then(() => 'accepted', (e: Error) => e.message);
    expect(await refused({ type: 'create', path: 'relative/x' })).toMatch(/PathError: bad path "relative\/x": not absolute/);
    expect(await refused({ type: 'create', path: '/a/../b' })).toMatch(/"\.\." is not allowed/);
    expect(await refused({ type: 'mkdir', path: `/${'n'.repeat(300)}` })).toMatch(/over the limit of 255/);
    expect(await refused({ type: 'create', path: '/missing/f' })).toMatch(/MetadataError: \/missing does not exist/);
    expect(await refused({ type: 'create', path: 42 as unknown as string })).toMatch(/not a string/);
    expect(await refused({ type: 'undelete', path: '/nothing' })).toMatch(/no deleted file \/nothing/);
    expect(await refused({ type: 'locate', path: '/', index: 0 })).toMatch(/is a directory/);
    expect(await refused({ type: 'add-chunk', path: '/' })).toMatch(/is a directory/);
    // a malformed heartbeat (a tell: nobody to answer) is dropped with a warning
    sim.tell(master, { type: 'heartbeat', server: 'x', rack: 'r', usedBytes: Number.NaN, capacityBytes: 1, chunks: [], ref: master as never });
    sim.tell(master, { type: 'heartbeat', server: 'y', rack: 'r', usedBytes: 0, capacityBytes: 1, chunks: [null as never], ref: master as never });
    expect((await sim.call(master, { type: 'status' })).servers).toEqual([]);
    expect(await sim.call(master, { type: 'mkdir', path: '/ok' })).toBe(true);
    expect(await sim.call(master, { type: 'list', path: '/' })).toEqual([{ name: 'ok', kind: 'dir' }]);
  });

  it('delete hides a file, undelete brings it back, and after the delay a scan reclaims it and its chunks are deleted from the chunkservers', async () => {
    const sim = new SimCluster({ seed: 2 });
    const master = bootMaster(sim, { gcDelayMs: 10_000 });
    const servers = bootChunkservers(sim, master(), ['A', 'B', 'C']);
    await sim.runFor(300);
    await sim.call(master(), { type: 'create', path: '/f' });
    await sim.call(master(), { type: 'add-chunk', path: '/f' });
    await sim.runFor(300);
    await sim.call(master(), { type: 'delete', path: '/f' });
    await expect(sim.call(master(), { type: 'stat', path: '/f' })).rejects.toThrow(/does not exist/);
    await sim.call(master(), { type: 'undelete', path: '/f' });
    expect(await sim.call(master(), { type: 'stat', path: '/f' })).toEqual({ kind: 'file', chunks: 1 });
    await sim.call(master(), { type: 'delete', path: '/f' });
    await sim.runFor(5_000);
    expect((await sim.call(master(), { type: 'list', path: '/' })).map((e) => e.name)[0]).toMatch(/^\.deleted~\d+~f$/);
    await sim.runFor(5_200);
    expect(await sim.call(master(), { type: 'list', path: '/' })).toEqual([]);
    await expect(sim.call(master(), { type: 'undelete', path: '/f' })).rejects.toThrow(/no deleted file/);
    // the chunk is an orphan now: the next heartbeats have every replica deleted
    await sim.runFor(300);
    for (const cs of servers.values()) expect(await sim.call(cs, { type: 'inspect' })).toEqual([]);
  });

  it('new chunks are placed across racks; the master learns replicas from chunkservers and has orphans deleted', async () => {
    const sim = new SimCluster({ seed: 3 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'A', 'B', 'C']);
    await sim.runFor(300); // first heartbeats
    await sim.call(master, { type: 'create', path: '/f' });
    const { handle, replicas } = await sim.call(master, { type: 'add-chunk', path: '/f' });
    expect(new Set(replicas.map((s) => ({ cs1: 'A', cs2: 'A', cs3: 'B', cs4: 'C' })[s])).size).toBe(3);
    await sim.runFor(300);
    expect((await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas).toEqual([...replicas].sort());
    // a chunk the master never made (left from an earlier life) is deleted after the next heartbeat
    sim.tell(servers.get('cs1')!, { type: 'create-chunk', handle: handle + 100, version: 1 });
    await sim.runFor(50);
    expect((await sim.call(servers.get('cs1')!, { type: 'inspect' })).map((c) => c.handle)).toContain(handle + 100);
    await sim.runFor(300);
    expect((await sim.call(servers.get('cs1')!, { type: 'inspect' })).map((c) => c.handle)).not.toContain(handle + 100);
    // the master restarted learns the locations again from heartbeats
    sim.crash('m');
    sim.restart('m');
    await sim.runFor(300);
    expect((await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas).toEqual([...replicas].sort());
  });

  it('a lease grant raises the version at the master and on every replica, persisted, before the client hears of the primary', async () => {
    const sim = new SimCluster({ seed: 4 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ handle, version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
    expect(lease.replicas).toContain(lease.primary);
    // crashing every replica and the master at once loses nothing the answer relied on
    for (const n of ['m', 'cs1', 'cs2', 'cs3']) sim.crash(n);
    for (const n of ['m', 'cs1', 'cs2', 'cs3']) sim.restart(n);
    for (const cs of servers.values()) expect(await sim.call(cs, { type: 'inspect' })).toEqual([{ handle, version: 2, lengthBytes: 0 }]);
    await sim.runFor(300);
    expect(await sim.call(master, { type: 'locate', path: '/f', index: 0 })).toEqual({ handle, version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
  });

  it('while a lease runs every request gets the same primary and no new version; concurrent requests share one grant; after expiry a grant raises the version again', async () => {
    const sim = new SimCluster({ seed: 5 });
    const master = bootMaster(sim)();
    bootChunkservers(sim, master, ['A', 'B', 'C']);
    await fileWithChunk(sim, master);
    const asks = [0, 1, 2].map(() => sim.ask(master, { type: 'lease', path: '/f', index: 0 }));
    await sim.runFor(100);
    const leases = await Promise.all(asks);
    expect(new Set(leases.map((l) => `${l.primary}@${l.version}`)).size).toBe(1);
    expect(leases[0]!.version).toBe(2);
    await sim.runFor(500);
    expect(await sim.call(master, { type: 'lease', path: '/f', index: 0 })).toEqual(leases[0]);
    await sim.runFor(600); // past the lease
    expect((await sim.call(master, { type: 'lease', path: '/f', index: 0 })).version).toBe(3);
  });

  it('a replica down during a version raise comes back stale: never handed out, and replaced by a fresh copy', async () => {
    const sim = new SimCluster({ seed: 6 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    sim.crash('cs1');
    // the master still counts cs1 live; the grant waits for it until the timeout, then goes on without
    // it: at version 3, since cs1, taken for dead unanswered, might hold version 2
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ handle, version: 3, replicas: ['cs2', 'cs3'] });
    expect(['cs2', 'cs3']).toContain(lease.primary);
    sim.restart('cs1');
    // while cs1 holds version 1 it is never named; re-replication then gives it a fresh copy at
    // version 3, once the lease has ended (a chunk is copied while no mutation can reach it)
    for (let t = 0; t < 40; t++) {
      await sim.runFor(50);
      const named = (await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas.includes('cs1');
      const held = await sim.call(servers.get('cs1')!, { type: 'chunk-info', handle });
      if (named) expect(held?.version).toBe(3);
    }
    expect((await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas).toEqual(['cs1', 'cs2', 'cs3']);
    expect(await sim.call(servers.get('cs1')!, { type: 'inspect' })).toEqual([{ handle, version: 3, lengthBytes: 0 }]);
  });

  it('after a snapshot, the first lease on a shared chunk has every replica copy it locally; writes to the copy leave the snapshot unchanged', async () => {
    const sim = new SimCluster({ seed: 8 });
    const { master, servers, handle, before } = await snapshotted(sim);
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease.handle).not.toBe(handle);
    expect(lease).toMatchObject({ version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
    expect((await sim.call(master, { type: 'locate', path: '/g', index: 0 })).handle).toBe(handle);
    const after = new TextEncoder().encode('AFTER the snapshot!');
    for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle: lease.handle, offset: 0, data: after });
    for (const cs of servers.values()) {
      expect(Buffer.from(await sim.call(cs, { type: 'read', handle, offset: 0, length: before.length })).equals(before)).toBe(true);
      expect(Buffer.from(await sim.call(cs, { type: 'read', handle: lease.handle, offset: 0, length: after.length })).equals(after)).toBe(true);
    }
    // the file keeps its own chunk: the next lease asks for no copy
    expect((await sim.call(master, { type: 'lease', path: '/f', index: 0 })).handle).toBe(lease.handle);
    expect((await sim.call(master, { type: 'lease', path: '/g', index: 0 })).handle).toBe(handle);
  });

  it("a copy after a snapshot ordered only to a replica cut off and taken for dead is ordered again once that replica reports the shared chunk; the lease comes on the copy", async () => {
    const sim = new SimCluster({ seed: 10 });
    const master = bootMaster(sim, { replicas: 1 })();
    const servers = bootChunkservers(sim, master, ['A']);
    const { handle } = await fileWithChunk(sim, master);
    await sim.call(master, { type: 'snapshot', source: '/f', target: '/g' });
    // the copy order is lost, and cs1 is taken for dead before it answers
    sim.partition(['m'], ['cs1']);
    const first = sim.ask(master, { type: 'lease', path: '/f', index: 0 }).then(
      () => 'granted',
      (e: Error) => e.message,
    );
    await sim.runFor(config.leaseMs * 5);
    expect(await first).toMatch(/no replica answered the version raise yet; ask again/);
    expect((await sim.call(master, { type: 'status' })).servers).toEqual([]);
    sim.heal();
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ version: 2, replicas: ['cs1'], primary: 'cs1' });
    expect(lease.handle).not.toBe(handle);
    expect(await sim.call(servers.get('cs1')!, { type: 'chunk-info', handle: lease.handle })).toMatchObject({ version: 2 });
  });

  it("the other file's lease does not raise a shared chunk while its copy after a snapshot has reached no replica: the copy holds no write made after the snapshot", async () => {
    const sim = new SimCluster({ seed: 17 });
    const { master, servers, handle, before } = await snapshotted(sim);
    // /f's copy orders are lost (the heartbeats still arrive)
    sim.partition(['m'], ['cs1', 'cs2', 'cs3'], { oneWay: true });
    const first = sim.ask(master, { type: 'lease', path: '/f', index: 0 }).then(
      () => 'granted',
      (e: Error) => e.message,
    );
    await sim.runFor(50);
    sim.heal();
    // /g keeps the shared chunk: its lease waits until the copy is made
    await expect(sim.call(master, { type: 'lease', path: '/g', index: 0 })).rejects.toThrow(/being copied for a snapshot's file; ask again/);
    const shared = await untilLeased(sim, master, '/g');
    expect(shared).toMatchObject({ handle, version: 2 });
    const after = new TextEncoder().encode('AFTER the snapshot!');
    for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle, offset: 0, data: after });
    await sim.runFor(config.leaseGrantTimeoutMs);
    expect(await first).toMatch(/no replica answered the version raise yet; ask again/);
    const copy = await untilLeased(sim, master, '/f');
    expect(copy.handle).not.toBe(handle);
    for (const cs of copy.replicas) expect(Buffer.from(await sim.call(servers.get(cs)!, { type: 'read', handle: copy.handle, offset: 0, length: before.length }))).toEqual(Buffer.from(before));
  });

  it('a copy order delivered again after the shared chunk was raised and written is refused: nothing is copied, the master hears why, and no replica of the copy holds the later write', async () => {
    const copyOrders: ChunkserverMsg[] = [];
    const refusals: MasterMsg[] = [];
    const sim = new SimCluster({
      seed: 18,
      onSend: (s) => {
        const body = s.body as ChunkserverMsg | MasterMsg;
        if (body.type === 'copy-chunk' && s.to.node === 'cs3') copyOrders.push(body);
        if (body.type === 'copy-refused') refusals.push(body);
      },
    });
    const { master, servers, handle, before } = await snapshotted(sim);
    // the copy order to cs3 is lost: the grant goes ahead with cs1 and cs2
    sim.partition(['m'], ['cs3'], { oneWay: true });
    const copy = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(copy.replicas.sort()).toEqual(['cs1', 'cs2']);
    sim.heal();
    const shared = await sim.call(master, { type: 'lease', path: '/g', index: 0 });
    expect(shared).toMatchObject({ handle, version: 2 });
    const after = new TextEncoder().encode('AFTER the snapshot!');
    for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle, offset: 0, data: after });
    // the lost order turns up now (a duplicate the network held back, or an order sent again)
    expect(copyOrders).toEqual([expect.objectContaining({ from: handle, fromVersion: 1, to: copy.handle, version: 2 })]);
    sim.tell(servers.get('cs3')!, copyOrders[0]!);
    await sim.runFor(50);
    expect(await sim.call(servers.get('cs3')!, { type: 'chunk-info', handle: copy.handle })).toBeNull();
    expect(refusals).toEqual([expect.objectContaining({ server: 'cs3', handle: copy.handle, from: handle, fromVersion: 1, heldVersion: 2 })]);
    // re-replication brings the copy to cs3 from a good replica later: every replica holds the snapshot's bytes
    await sim.runFor(3 * config.leaseMs);
    const located = await sim.call(master, { type: 'locate', path: '/f', index: 0 });
    for (const cs of located.replicas) expect(Buffer.from(await sim.call(servers.get(cs)!, { type: 'read', handle: copy.handle, offset: 0, length: before.length }))).toEqual(Buffer.from(before));
  });

  it("a copy after a snapshot refused everywhere does not block either file for good when its shared chunk is raised again from older replicas: the copy is ordered again from the raised chunk, and both files read the same bytes", async () => {
    const sim = new SimCluster({ seed: 19 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    const before = new TextEncoder().encode('before the snapshot');
    for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle, offset: 0, data: before });
    // the raise to version 2 reaches cs1 only: the lease goes out with cs2 and cs3 late (their orders are lost)
    sim.partition(['m'], ['cs2', 'cs3'], { oneWay: true });
    expect(await sim.call(master, { type: 'lease', path: '/f', index: 0 })).toMatchObject({ handle, version: 2, primary: 'cs1' });
    await sim.call(master, { type: 'snapshot', source: '/f', target: '/g' });
    // /f's copy is ordered to cs1 alone, which loses its replica before the order arrives: refused
    sim.setLink('m', 'cs1', { delayMs: [100, 100] }, true);
    const first = sim.ask(master, { type: 'lease', path: '/f', index: 0 }).then(
      (l) => l,
      (e: Error) => e.message,
    );
    sim.tell(servers.get('cs1')!, { type: 'delete-chunks', handles: [handle] });
    await sim.runFor(config.leaseGrantTimeoutMs + 50);
    expect(await first).toMatch(/no replica answered the version raise yet; ask again/);
    // cs2 and cs3 hold the shared chunk at version 1 only: the scan raises it again from them
    sim.heal();
    await sim.runFor(3000);
    const shared = await untilLeased(sim, master, '/g');
    expect(shared.handle).toBe(handle);
    expect(shared.version).toBeGreaterThanOrEqual(3);
    const copy = await untilLeased(sim, master, '/f');
    expect(copy.handle).not.toBe(handle);
    expect(copy.replicas.length).toBeGreaterThan(0);
    for (const [lease, h] of [[shared, handle], [copy, copy.handle]] as const) {
      for (const cs of lease.replicas) expect(Buffer.from(await sim.call(servers.get(cs)!, { type: 'read', handle: h, offset: 0, length: before.length }))).toEqual(Buffer.from(before));
    }
  });

  it('a snapshot taken while a lease grant runs turns the grant down; asked again, the lease comes on a copy', async () => {
    const sim = new SimCluster({ seed: 9 });
    const master = bootMaster(sim)();
    bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    const first = sim.ask(master, { type: 'lease', path: '/f', index: 0 }).then(
      () => 'granted',
      (e: Error) => e.message,
    );
    const snap = sim.ask(master, { type: 'snapshot', source: '/f', target: '/g' });
    await sim.runFor(100);
    await snap;
    expect(await first).toMatch(/shared by a snapshot during the lease grant; ask again/);
    const again = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(again.handle).not.toBe(handle);
  });

  it('a version raise that reaches no replica is sent again, not given up: the replicas stay and the lease comes once they answer', async () => {
    const sim = new SimCluster({ seed: 11 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    // the master's orders are lost; the chunkservers' heartbeats still arrive
    sim.partition(['m'], ['cs1', 'cs2', 'cs3'], { oneWay: true });
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 0 })).rejects.toThrow(/no replica answered the version raise yet; ask again/);
    await sim.runFor(1000);
    // the replicas, still at version 1 while the master is at 2, are late, not stale: none is deleted
    for (const cs of servers.values()) expect(await sim.call(cs, { type: 'chunk-info', handle })).toEqual({ version: 1, lengthBytes: 0 });
    sim.heal();
    await sim.runFor(600);
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ handle, version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
  });

  it('a replica late to a version raise that went ahead without it is not deleted on a report from before the raise reached it', async () => {
    const sim = new SimCluster({ seed: 12 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    // the master's orders take 1.5 s to reach cs2 and cs3 (their heartbeats still arrive at once):
    // the grant times out with cs1 alone, and cs2 and cs3 keep reporting version 1 meanwhile
    for (const late of ['cs2', 'cs3']) sim.setLink('m', late, { delayMs: [1500, 1500] }, true);
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ handle, version: 2, primary: 'cs1' });
    await sim.runFor(2000);
    // the raise reached them: both hold the chunk at version 2, and the master names all three again
    for (const late of ['cs2', 'cs3']) expect(await sim.call(servers.get(late)!, { type: 'chunk-info', handle })).toEqual({ version: 2, lengthBytes: 0 });
    sim.heal();
    await sim.runFor(300);
    expect((await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas.sort()).toEqual(['cs1', 'cs2', 'cs3']);
  });

  it('a version raise whose replicas all died before answering waits for one to come back at the version it raised from; the lease goes out then', async () => {
    const sim = new SimCluster({ seed: 16 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    for (const cs of servers.keys()) sim.crash(cs);
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 0 })).rejects.toThrow(/no replica answered the version raise yet; ask again/);
    await sim.runFor(1500); // every chunkserver taken for dead meanwhile
    expect((await sim.call(master, { type: 'status' })).servers).toEqual([]);
    for (const cs of servers.keys()) sim.restart(cs);
    await sim.runFor(300);
    const lease = await sim.call(master, { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ handle, version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
  });

  it("a lease request joining a stalled grant (its replicas all dead) is answered by the master within the grant timeout, not left to the client's own ask timeout", async () => {
    const sim = new SimCluster({ seed: 16 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    await fileWithChunk(sim, master);
    for (const cs of servers.keys()) sim.crash(cs);
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 0 })).rejects.toThrow(/no replica answered the version raise yet; ask again/);
    await sim.runFor(1500); // every chunkserver taken for dead: the grant is stalled
    // the client would wait 20 s; the master answers it at the grant's next timeout (500 ms)
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 0 }, { timeoutMs: 20_000 })).rejects.toThrow(/no replica answered the version raise yet; ask again/);
  });

  it('a master that restarts after logging a version raise no replica got keeps the older replicas and, all of them reporting, raises the chunk again from them', async () => {
    const sim = new SimCluster({ seed: 15 });
    const master = bootMaster(sim);
    const servers = bootChunkservers(sim, master(), ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master());
    sim.partition(['m'], ['cs1', 'cs2', 'cs3'], { oneWay: true });
    await expect(sim.call(master(), { type: 'lease', path: '/f', index: 0 })).rejects.toThrow(/no replica answered/);
    sim.crash('m');
    sim.restart('m');
    // one server still silent: it may hold version 2, so the chunk waits and the others are kept
    sim.crash('cs3');
    sim.heal();
    await sim.runFor(1000);
    expect((await sim.call(master(), { type: 'locate', path: '/f', index: 0 })).version).toBe(2);
    for (const cs of ['cs1', 'cs2']) expect(await sim.call(servers.get(cs)!, { type: 'chunk-info', handle })).toEqual({ version: 1, lengthBytes: 0 });
    // every server the raise went to reports version 1: it reached none, and the chunk is raised again
    sim.restart('cs3');
    await sim.runFor(2000);
    const lease = await sim.call(master(), { type: 'lease', path: '/f', index: 0 });
    // (raised to 3 by the scan; the lease asked for here may raise it once more)
    expect(lease).toMatchObject({ handle, replicas: ['cs1', 'cs2', 'cs3'] });
    expect(lease.version).toBeGreaterThanOrEqual(3);
    for (const cs of servers.values()) expect(await sim.call(cs, { type: 'chunk-info', handle })).toEqual({ version: lease.version, lengthBytes: 0 });
  });

  it("a dead chunkserver's chunks are cloned back to the replica target, across racks, with their data", async () => {
    const sim = new SimCluster({ seed: 10 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C', 'D']);
    const rackOf: Record<string, string> = { cs1: 'A', cs2: 'B', cs3: 'C', cs4: 'D' };
    const { handle } = await fileWithChunk(sim, master);
    // a whole chunk, copied in 64 pieces: the clone spans heartbeats, which must not take the unfinished copy for stale
    const data = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) & 0xff);
    const { replicas } = await sim.call(master, { type: 'locate', path: '/f', index: 0 });
    expect(replicas).toHaveLength(3);
    for (const id of replicas) await sim.call(servers.get(id)!, { type: 'write', handle, offset: 0, data });
    const victim = replicas[0]!;
    sim.crash(victim);
    await sim.runFor(1500); // taken for dead after serverTimeoutMs, then a scan plans the clone
    const after = (await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas;
    expect(after).toHaveLength(3);
    expect(after).not.toContain(victim);
    expect(new Set(after.map((id) => rackOf[id])).size).toBe(3);
    const [fresh] = after.filter((id) => !replicas.includes(id));
    const copied = await sim.call(servers.get(fresh!)!, { type: 'read', handle, offset: 0, length: data.length });
    expect(Buffer.from(copied).equals(data)).toBe(true);
  });

  it('a clone whose target dies mid-copy stops holding the chunk at once: it is planned again elsewhere, long before the clone timeout', async () => {
    const sim = new SimCluster({ seed: 11 });
    const master = bootMaster(sim, { cloneTimeoutMs: 60_000 })();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C', 'D', 'E']);
    const { handle } = await fileWithChunk(sim, master);
    const data = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) & 0xff);
    const { replicas } = await sim.call(master, { type: 'locate', path: '/f', index: 0 });
    for (const id of replicas) await sim.call(servers.get(id)!, { type: 'write', handle, offset: 0, data });
    sim.crash(replicas[0]!);
    let target: string | undefined;
    for (let t = 0; t < 3_000 && target === undefined; t += 10) {
      await sim.runFor(10);
      target = (await sim.call(master, { type: 'status' })).clonesInFlight.find((c) => c.handle === handle)?.target;
    }
    expect(target).toBeDefined();
    sim.crash(target!); // its clone-done never comes
    await sim.runFor(3_000); // the target is taken for dead, the chunk is cloned to the last server
    const after = (await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas;
    expect(after).toHaveLength(3);
    expect(after).not.toContain(target);
    const [fresh] = after.filter((id) => !replicas.includes(id));
    expect(Buffer.from(await sim.call(servers.get(fresh!)!, { type: 'read', handle, offset: 0, length: data.length })).equals(data)).toBe(true);
  });

  it('under crashes, restarts and a lossy network, the master never hands out a replica at another version, and heals to the replica target', async () => {
    await forEachSeed(15, async (seed) => {
      const sim = new SimCluster({ seed, network: { drop: 0.05, duplicate: 0.05 } });
      const master = bootMaster(sim)();
      const servers = bootChunkservers(sim, master, ['A', 'B', 'C', 'D', 'E']);
      const rand = seededRandom(seed);
      await sim.runFor(300);
      await sim.call(master, { type: 'create', path: '/f' }, { timeoutMs: 2000 });
      for (let i = 0; i < 2; i++) await sim.call(master, { type: 'add-chunk', path: '/f' }, { timeoutMs: 2000 }).catch(() => undefined);
      const down = new Set<string>();
      for (let step = 0; step < 40; step++) {
        const r = rand();
        const id = `cs${1 + Math.floor(rand() * 5)}`;
        if (r < 0.15 && !down.has(id) && down.size < 2) {
          sim.crash(id);
          down.add(id);
        } else if (r < 0.3 && down.has(id)) {
          sim.restart(id);
          down.delete(id);
        } else if (r < 0.6) {
          await sim.call(master, { type: 'lease', path: '/f', index: Math.floor(rand() * 2) }, { timeoutMs: 1000 }).catch(() => undefined);
        } else {
          await sim.runFor(rand() * 400);
        }
        // the claim: a replica the master names never holds the chunk at another version
        for (const index of [0, 1]) {
          const loc = await sim.call(master, { type: 'locate', path: '/f', index }, { timeoutMs: 1000 }).catch(() => undefined);
          for (const s of loc?.replicas ?? []) {
            if (down.has(s)) continue;
            const info = await sim.call(servers.get(s)!, { type: 'chunk-info', handle: loc!.handle }, { timeoutMs: 1000 }).catch(() => 'lost' as const);
            // (a replica just deleted may be named until the next heartbeat: a reader gets "unknown chunk" and tries another)
            if (info === 'lost' || info === null) continue;
            expect({ s, step, version: info.version }).toEqual({ s, step, version: loc!.version });
          }
        }
      }
      for (const id of down) sim.restart(id);
      sim.setNetwork({});
      await sim.runFor(5_000);
      const stat = await sim.call(master, { type: 'stat', path: '/f' });
      for (let index = 0; index < (stat as { chunks: number }).chunks; index++) {
        const loc = await sim.call(master, { type: 'locate', path: '/f', index });
        expect({ index, replicas: loc.replicas.length }).toEqual({ index, replicas: 3 });
      }
    });
  });

  it('rebalancing moves replicas onto new empty chunkservers until disk use is even, keeping three replicas on three racks', async () => {
    const sim = new SimCluster({ seed: 12 });
    const master = bootMaster(sim, { maxClonesPerServer: 4 })();
    // 1 MiB disks: a 64 KiB chunk is 6% of one; rebalancing stops within 10%
    const rackOf = (s: string): string => s[0]!.toUpperCase();
    const refs = bootChunkservers(sim, master, [['a1', 'A'], ['b1', 'B'], ['c1', 'C']], 1 << 20);
    await sim.runFor(300);
    await sim.call(master, { type: 'create', path: '/f' });
    const full = new Uint8Array(64 * 1024).fill(9);
    for (let i = 0; i < 6; i++) {
      const { handle, replicas } = await sim.call(master, { type: 'add-chunk', path: '/f' });
      await sim.runFor(50);
      for (const s of replicas) await sim.call(refs.get(s)!, { type: 'write', handle, offset: 0, data: full });
    }
    bootChunkservers(sim, master, [['a2', 'A'], ['b2', 'B'], ['c2', 'C']], 1 << 20, refs);
    await sim.runFor(10_000);
    const status = await sim.call(master, { type: 'status' });
    const use = status.servers.map((s) => s.usedBytes / s.capacityBytes);
    expect(status.servers).toHaveLength(6);
    expect(Math.max(...use) - Math.min(...use)).toBeLessThanOrEqual(0.1 + 64 / 1024);
    expect(Math.min(...use)).toBeGreaterThan(0);
    for (let index = 0; index < 6; index++) {
      const { replicas } = await sim.call(master, { type: 'locate', path: '/f', index });
      expect({ index, racks: new Set(replicas.map((s) => rackOf(s))).size, replicas: replicas.length }).toEqual({ index, racks: 3, replicas: 3 });
    }
  });

  it('a flipped byte in a stored block is detected on read, reported, and the replica replaced from a good one', async () => {
    const sim = new SimCluster({ seed: 14 });
    const master = bootMaster(sim)();
    const servers = bootChunkservers(sim, master, ['A', 'B', 'C']);
    const { handle } = await fileWithChunk(sim, master);
    const data = Uint8Array.from({ length: 8192 }, (_, i) => (i * 13) & 0xff);
    for (const cs of servers.values()) await sim.call(cs, { type: 'write', handle, offset: 0, data });
    // damage block 1 of cs1's replica behind its back (the simulator's disk); the node restarts to drop any cached view
    sim.crash('cs1');
    const key = ['chunkserver', 'block', handle, 1];
    const stored = unpackBlock(decode(sim.store('cs1', CHUNK_DOMAIN).get(key)!))!;
    stored.data[100]! ^= 0x04;
    const written = sim.store('cs1', CHUNK_DOMAIN).commit([[key, encode(packBlock(stored.data, stored.crc))]]); // synced in virtual time
    await sim.runFor(10);
    await written;
    sim.restart('cs1');
    await sim.runFor(200);
    await expect(sim.call(servers.get('cs1')!, { type: 'read', handle, offset: 0, length: data.length })).rejects.toThrow(/chunk \d+ block 1: checksum mismatch/);
    // the master drops the bad replica, has it deleted and clones a good one back
    await sim.runFor(1000);
    expect((await sim.call(master, { type: 'locate', path: '/f', index: 0 })).replicas).toEqual(['cs1', 'cs2', 'cs3']);
    const healed = await sim.call(servers.get('cs1')!, { type: 'read', handle, offset: 0, length: data.length });
    expect(Buffer.from(healed).equals(data)).toBe(true);
  });

  it('a lease is refused with a clear error for a chunk with no live replica', async () => {
    const sim = new SimCluster({ seed: 7 });
    const master = bootMaster(sim)();
    bootChunkservers(sim, master, ['A']);
    await fileWithChunk(sim, master);
    sim.crash('cs1');
    await sim.runFor(1000); // cs1 is taken for dead
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 0 })).rejects.toThrow(/no live replica to grant a lease to/);
    await expect(sim.call(master, { type: 'lease', path: '/f', index: 5 })).rejects.toThrow(/\/f has no chunk 5/);
  });
});
