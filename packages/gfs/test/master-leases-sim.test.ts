import { describe, expect, it } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import { SimCluster } from '@actorfs/actors/testing';
import { Chunkserver } from '../src/chunkserver/chunkserver-actor.ts';
import { Master } from '../src/master/master-actor.ts';
import type { ChunkserverMsg, MasterMsg } from '../src/protocol.ts';

const config = { chunkSizeBytes: 64 * 1024, blockSizeBytes: 4096, heartbeatIntervalMs: 100, scanIntervalMs: 100, leaseMs: 1000, leaseGrantTimeoutMs: 500 };

interface Cell {
  sim: SimCluster;
  master: () => ActorRef<MasterMsg>;
  servers: Map<string, ActorRef<ChunkserverMsg>>;
  /** Every message sent to a chunkserver, in order. */
  toServers: Array<{ to: string; body: ChunkserverMsg }>;
  /** Every heartbeat a chunkserver sent the master, in order. */
  heartbeats: Array<{ from: string; body: Extract<MasterMsg, { type: 'heartbeat' }> }>;
  logs: Array<{ msg: string; fields?: Record<string, unknown> }>;
}

function cell(seed: number, extra: Record<string, number> = {}, disk: { fsyncMs?: readonly [number, number] } = {}): Cell {
  const toServers: Cell['toServers'] = [];
  const heartbeats: Cell['heartbeats'] = [];
  const logs: Cell['logs'] = [];
  const sim = new SimCluster({
    seed,
    ...disk,
    logSink: (_level, _time, _source, msg, fields) => void logs.push({ msg, ...(fields ? { fields } : {}) }),
    onSend: (s) => {
      if (s.to.id === 'chunkserver') toServers.push({ to: s.to.node, body: s.body as ChunkserverMsg });
      const body = s.body as MasterMsg;
      if (s.to.id === 'master' && body.type === 'heartbeat') heartbeats.push({ from: s.from, body });
    },
  });
  let master: ActorRef<MasterMsg> | undefined;
  sim.addNode('m', { boot: (node) => void (master = node.spawn(Master, { config: { ...config, ...extra } }, { name: 'master' })) });
  const servers = new Map<string, ActorRef<ChunkserverMsg>>();
  ['A', 'B', 'C'].forEach((rack, i) => {
    const server = `cs${i + 1}`;
    sim.addNode(server, { boot: (node) => void servers.set(server, node.spawn(Chunkserver, { server, rack, master: master!, capacityBytes: 1 << 30, config }, { name: 'chunkserver' })) });
  });
  return { sim, master: () => master!, servers, toServers, heartbeats, logs };
}

/** /d/f with one chunk, its three replicas known, and a lease granted on it. */
async function leased(c: Cell): Promise<{ handle: number; primary: string; version: number; expiresAtMs: number; replicas: string[] }> {
  await c.sim.runFor(300);
  await c.sim.call(c.master(), { type: 'mkdir', path: '/d' });
  await c.sim.call(c.master(), { type: 'create', path: '/d/f' });
  await c.sim.call(c.master(), { type: 'add-chunk', path: '/d/f' });
  await c.sim.runFor(300);
  return c.sim.call(c.master(), { type: 'lease', path: '/d/f', index: 0 });
}

const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: Error) => e.message);

describe('master: a lease on a chunk its servers are still creating', () => {
  it('raises the version on every server the chunk was placed on, not only those whose creation was acknowledged first', async () => {
    // slow syncs: the master's add-chunk is answered (its log record synced) before any chunkserver has synced the new chunk
    const c = cell(31, {}, { fsyncMs: [50, 150] });
    await c.sim.runFor(300);
    await c.sim.call(c.master(), { type: 'create', path: '/f' });
    const added = await c.sim.call(c.master(), { type: 'add-chunk', path: '/f' });
    expect(added.replicas).toHaveLength(3);
    const lease = await c.sim.call(c.master(), { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ version: 2 });
    expect([...lease.replicas].sort()).toEqual(['cs1', 'cs2', 'cs3']);
    // none of them is taken for stale and deleted: all three report the raised version
    await c.sim.runFor(1000);
    for (const ref of c.servers.values()) expect(await c.sim.call(ref, { type: 'chunk-info', handle: lease.handle })).toMatchObject({ version: 2 });
    expect(c.toServers.filter((s) => s.body.type === 'delete-chunks')).toEqual([]);
  });

  it('a chunk whose create orders were all lost is ordered again, and gets its replicas and a lease', async () => {
    const c = cell(32);
    await c.sim.runFor(300);
    await c.sim.call(c.master(), { type: 'create', path: '/g' });
    c.sim.partition(['m'], ['cs1', 'cs2', 'cs3']);
    const { handle } = await c.sim.call(c.master(), { type: 'add-chunk', path: '/g' });
    await c.sim.runFor(20);
    c.sim.heal();
    await c.sim.runFor(1000);
    expect(c.toServers.filter((s) => s.body.type === 'create-chunk' && s.body.handle === handle).length).toBeGreaterThan(3);
    const lease = await c.sim.call(c.master(), { type: 'lease', path: '/g', index: 0 });
    expect([...lease.replicas].sort()).toEqual(['cs1', 'cs2', 'cs3']);
  });

  it('a chunk whose create orders and first raise were all lost while its servers were taken for dead is ordered again once they are back, and gets its replicas and a lease', async () => {
    const c = cell(35);
    await c.sim.runFor(300);
    await c.sim.call(c.master(), { type: 'create', path: '/p' });
    c.sim.partition(['m'], ['cs1', 'cs2', 'cs3']);
    const { handle } = await c.sim.call(c.master(), { type: 'add-chunk', path: '/p' });
    // a lease asked meanwhile raises the version on the servers still creating the chunk: lost too,
    // and the servers are taken for dead before the grant's timeout (the chunk is at version 2 now)
    expect(await outcome(c.sim.call(c.master(), { type: 'lease', path: '/p', index: 0 }))).toMatch(/no replica answered the version raise/);
    expect(c.logs.some((l) => l.msg === 'chunkserver silent, taken for dead')).toBe(true);
    await c.sim.runFor(500);
    c.sim.heal();
    await c.sim.runFor(1000);
    const lease = await c.sim.call(c.master(), { type: 'lease', path: '/p', index: 0 });
    expect(lease).toMatchObject({ handle, version: 2 });
    await c.sim.runFor(2000);
    expect(await c.sim.call(c.master(), { type: 'locate', path: '/p', index: 0 })).toMatchObject({ version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
  });

  it('a chunk whose create orders were all lost before a master restart (which forgets them) is placed and created again', async () => {
    const c = cell(33, { serverTimeoutMs: 1000 });
    await c.sim.runFor(300);
    await c.sim.call(c.master(), { type: 'create', path: '/h' });
    c.sim.partition(['m'], ['cs1', 'cs2', 'cs3']);
    await c.sim.call(c.master(), { type: 'add-chunk', path: '/h' });
    await c.sim.runFor(20);
    c.sim.crash('m');
    c.sim.restart('m');
    c.sim.heal();
    await c.sim.runFor(2000);
    const lease = await c.sim.call(c.master(), { type: 'lease', path: '/h', index: 0 });
    expect(lease.replicas).toHaveLength(3);
  });
});

describe('master: a chunkserver report older than a message it already applied from that server', () => {
  it('a heartbeat sent before a version-raised but delivered after it counts for liveness only: the raised replica stays live and is not deleted', async () => {
    const c = cell(41);
    await c.sim.runFor(300);
    await c.sim.call(c.master(), { type: 'create', path: '/f' });
    const { handle } = await c.sim.call(c.master(), { type: 'add-chunk', path: '/f' });
    await c.sim.runFor(300);
    const before = c.heartbeats.filter((h) => h.from === 'cs1').at(-1)!.body;
    expect(before.chunks).toEqual([{ handle, version: 1 }]);
    const lease = await c.sim.call(c.master(), { type: 'lease', path: '/f', index: 0 });
    expect(lease).toMatchObject({ version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
    // the network delivers cs1's older heartbeat only now, after its version-raised
    c.sim.tell(c.master(), before);
    await c.sim.runFor(5);
    expect(await c.sim.call(c.master(), { type: 'locate', path: '/f', index: 0 })).toMatchObject({ version: 2, replicas: ['cs1', 'cs2', 'cs3'] });
    await c.sim.runFor(300);
    expect(c.toServers.filter((s) => s.body.type === 'delete-chunks' && s.body.handles.includes(handle))).toEqual([]);
    expect(await c.sim.call(c.servers.get('cs1')!, { type: 'chunk-info', handle })).toMatchObject({ version: 2 });
  });
});

describe('chunkserver: report stamps', () => {
  it('grow within an incarnation, and a restart starts a greater incarnation whose reports the master applies', async () => {
    const c = cell(42);
    await c.sim.runFor(300);
    const stamps = (): Array<{ incarnation: number; seq: number }> => c.heartbeats.filter((h) => h.from === 'cs1').map((h) => h.body.stamp!);
    const first = stamps();
    expect(first.length).toBeGreaterThan(1);
    expect(first.every((s, i) => s.incarnation === first[0]!.incarnation && (i === 0 || s.seq > first[i - 1]!.seq))).toBe(true);
    c.sim.crash('cs1');
    c.sim.restart('cs1');
    await c.sim.runFor(300);
    const later = stamps().slice(first.length);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((s) => s.incarnation > first[0]!.incarnation)).toBe(true);
    await c.sim.call(c.master(), { type: 'create', path: '/f' });
    await c.sim.call(c.master(), { type: 'add-chunk', path: '/f' });
    await c.sim.runFor(300);
    expect((await c.sim.call(c.master(), { type: 'status' })).servers.map((s) => [s.id, s.chunks])).toEqual([['cs1', 1], ['cs2', 1], ['cs3', 1]]);
  });
});

describe('chunkserver: report stamps across crashes before the incarnation is synced', () => {
  it('a start that crashes before its stored incarnation is synced sent nothing under it, so a restart within the same virtual ms, reusing it, is still greater than any the master heard of', async () => {
    const c = cell(43);
    await c.sim.runFor(300);
    const sent = (): number[] => c.heartbeats.filter((h) => h.from === 'cs1').map((h) => h.body.stamp!.incarnation);
    const at = c.sim.now();
    c.sim.crash('cs1');
    c.sim.restart('cs1');
    await c.sim.runFor(0); // its first turns (the first heartbeat is due at once); every sync takes 1 ms or more
    c.sim.crash('cs1'); // the disk loses the stored incarnation
    const heardBefore = sent();
    c.sim.restart('cs1');
    expect(c.sim.now()).toBe(at);
    await c.sim.runFor(300);
    const later = sent().slice(heardBefore.length);
    expect(later.length).toBeGreaterThan(0);
    expect(Math.min(...later)).toBeGreaterThan(Math.max(...heardBefore));
    // and the master applies the restarted server's chunk lists at once
    await c.sim.call(c.master(), { type: 'create', path: '/f' });
    await c.sim.call(c.master(), { type: 'add-chunk', path: '/f' });
    await c.sim.runFor(300);
    expect((await c.sim.call(c.master(), { type: 'status' })).servers.map((s) => [s.id, s.chunks])).toEqual([['cs1', 1], ['cs2', 1], ['cs3', 1]]);
  });
});

describe("master: a dead chunkserver's report stamp", () => {
  it('is kept while a late report from its last run could still arrive (such a report is outdated), and dropped after ten server timeouts: the master keeps no stamp per server that ever reported', async () => {
    const c = cell(44);
    await c.sim.runFor(300);
    const old = c.heartbeats.filter((h) => h.from === 'cs1').at(-2)!.body;
    c.sim.crash('cs1');
    await c.sim.runFor(600);
    const registered = async (): Promise<string[]> => (await c.sim.call(c.master(), { type: 'status' })).servers.map((s) => s.id);
    expect(await registered()).toEqual(['cs2', 'cs3']);
    c.sim.tell(c.master(), old);
    await c.sim.runFor(5);
    expect(await registered()).toEqual(['cs2', 'cs3']);
    await c.sim.runFor(10 * 300);
    // the stamp is gone: the same report is taken as cs1's first
    c.sim.tell(c.master(), old);
    await c.sim.runFor(5);
    expect(await registered()).toEqual(['cs1', 'cs2', 'cs3']);
  });
});

describe("master: a chunk's only replica found bad", () => {
  it('is deleted, and its version is not raised again on the server that deleted it (a bad copy is not a lost raise)', async () => {
    const c = cell(34, { replicas: 1 });
    const lease = await leased(c);
    expect(lease.replicas).toEqual([lease.primary]);
    c.sim.tell(c.master(), { type: 'bad-replica', server: lease.primary, handle: lease.handle, reason: 'checksum mismatch in block 0' });
    await c.sim.runFor(2000);
    expect(c.toServers.filter((s) => s.body.type === 'delete-chunks' && s.body.handles.includes(lease.handle)).map((s) => s.to)).toContain(lease.primary);
    const raises = c.toServers.filter((s) => s.body.type === 'raise-version' && s.body.handle === lease.handle);
    expect(raises.map((s) => s.body.type === 'raise-version' && s.body.version)).toEqual([2]);
    expect(await c.sim.call(c.master(), { type: 'locate', path: '/d/f', index: 0 })).toMatchObject({ version: 2, replicas: [] });
    expect(c.logs.filter((l) => l.msg.includes('raising again'))).toEqual([]);
  });
});

describe('master: leases are extended while a primary mutates', () => {
  it('a primary asking by message gets leaseMs more; a stale version, another server, an unknown chunk or chunkserver are refused with a clear error', async () => {
    const c = cell(21);
    const lease = await leased(c);
    const other = ['cs1', 'cs2', 'cs3'].find((s) => s !== lease.primary)!;
    await c.sim.runFor(600);
    const ask = (m: Partial<Extract<MasterMsg, { type: 'extend-lease' }>>) =>
      c.sim.call(c.master(), { type: 'extend-lease', server: lease.primary, handle: lease.handle, version: lease.version, ...m });
    const { expiresAtMs } = await ask({});
    expect(expiresAtMs).toBeGreaterThan(lease.expiresAtMs + 500);
    expect(await outcome(ask({ version: lease.version - 1 }))).toMatch(/version 1 is stale \(the master's is 2\)/);
    expect(await outcome(ask({ server: other }))).toMatch(new RegExp(`${other} holds no running lease`));
    expect(await outcome(ask({ handle: 999 }))).toMatch(/unknown chunk handle 999/);
    expect(await outcome(ask({ server: 'intruder' }))).toMatch(/unknown chunkserver "intruder": not registered by a heartbeat/);
    // past the first lease's end, the extended lease still runs: same primary, same version
    await c.sim.runFor(500);
    expect(await c.sim.call(c.master(), { type: 'lease', path: '/d/f', index: 0 })).toMatchObject({ primary: lease.primary, version: lease.version, expiresAtMs });
  });

  it("a heartbeat naming the chunks its server is primary of extends those leases, and the answer carries the new expiry", async () => {
    const c = cell(22);
    const lease = await leased(c);
    const ref = c.servers.get(lease.primary)!;
    await c.sim.runFor(700);
    c.sim.tell(c.master(), { type: 'heartbeat', server: lease.primary, ref, rack: 'X', usedBytes: 0, capacityBytes: 1 << 30, chunks: [{ handle: lease.handle, version: lease.version }], leases: [lease.handle, 4242] });
    await c.sim.runFor(50);
    const answers = c.toServers.filter((m) => m.body.type === 'lease-granted' && m.body.handle === lease.handle);
    // one with the grant, one with the extension; chunk 4242 (unknown) is not extended
    expect(answers.map((m) => m.to)).toEqual([lease.primary, lease.primary]);
    expect(c.toServers.filter((m) => m.body.type === 'lease-granted' && m.body.handle !== lease.handle)).toEqual([]);
    expect(answers[1]!.body).toMatchObject({ type: 'lease-granted', handle: lease.handle, version: lease.version, durationMs: 1000 });
    await c.sim.runFor(500); // past the first expiry, within the extension
    expect((await c.sim.call(c.master(), { type: 'lease', path: '/d/f', index: 0 })).version).toBe(lease.version);
  });
});

describe('master: a snapshot revokes the leases of its chunks first', () => {
  it("tells the primary, refuses to extend the lease meanwhile, and logs the snapshot only after the primary's acknowledgement", async () => {
    const c = cell(23);
    const lease = await leased(c);
    // hold the primary's answers back: the snapshot must wait for them
    c.sim.partition([lease.primary], ['m'], { oneWay: true });
    let snap = 'pending';
    c.sim.ask(c.master(), { type: 'snapshot', source: '/d', target: '/s' }).then(() => (snap = 'done'), (e: Error) => (snap = e.message));
    await c.sim.runFor(100);
    expect(c.toServers.filter((m) => m.body.type === 'revoke-lease')).toEqual([{ to: lease.primary, body: { type: 'revoke-lease', handle: lease.handle } }]);
    expect(snap).toBe('pending');
    // a stat of the target waits for the snapshot's locks
    let stat = 'pending';
    c.sim.ask(c.master(), { type: 'stat', path: '/s' }).then((s) => (stat = s.kind), (e: Error) => (stat = e.message));
    await c.sim.runFor(50);
    expect(stat).toBe('pending');
    c.sim.heal();
    expect(await outcome(c.sim.call(c.master(), { type: 'extend-lease', server: lease.primary, handle: lease.handle, version: lease.version }))).toMatch(/being snapshotted: its lease is not extended/);
    // the primary's acknowledgement (its first one was lost to the partition) ends the wait
    c.sim.tell(c.master(), { type: 'lease-revoked', server: lease.primary, handle: lease.handle });
    await c.sim.runFor(20);
    expect(snap).toBe('done');
    expect(stat).toBe('dir');
    // the next lease finds the chunk shared: the file gets a copy at a raised version
    const after = await c.sim.call(c.master(), { type: 'lease', path: '/d/f', index: 0 });
    expect(after.handle).not.toBe(lease.handle);
  });

  it('a primary that never answers holds the snapshot back only until its lease expires', async () => {
    const c = cell(24);
    const lease = await leased(c);
    c.sim.isolate(lease.primary);
    const t0 = c.sim.now();
    await c.sim.call(c.master(), { type: 'snapshot', source: '/d/f', target: '/g' }, { timeoutMs: 3000 });
    expect(c.sim.now()).toBeGreaterThanOrEqual(lease.expiresAtMs);
    expect(c.sim.now() - t0).toBeLessThan(config.leaseMs + 100);
  });

  it('while a snapshot waits, creates in its tree wait for its locks; creates elsewhere, in parallel, go on; the snapshot copies the tree as it was', async () => {
    const c = cell(25);
    const lease = await leased(c);
    await c.sim.call(c.master(), { type: 'mkdir', path: '/e' });
    c.sim.partition([lease.primary], ['m'], { oneWay: true });
    const done: string[] = [];
    c.sim.ask(c.master(), { type: 'snapshot', source: '/d', target: '/s' }).then(() => done.push('snapshot'));
    await c.sim.runFor(20);
    for (let i = 0; i < 5; i++) c.sim.ask(c.master(), { type: 'create', path: `/d/in${i}` }).then(() => done.push(`/d/in${i}`));
    for (let i = 0; i < 5; i++) c.sim.ask(c.master(), { type: 'create', path: `/e/out${i}` }).then(() => done.push(`/e/out${i}`));
    await c.sim.runFor(100);
    expect(done.sort()).toEqual(['/e/out0', '/e/out1', '/e/out2', '/e/out3', '/e/out4']);
    expect((await c.sim.call(c.master(), { type: 'status' })).waitingForLocks).toBe(5);
    c.sim.heal();
    await c.sim.runFor(1500); // the lease expires: the snapshot goes, then the creates it held back
    expect(done.slice(5)[0]).toBe('snapshot');
    expect(done).toHaveLength(11);
    expect((await c.sim.call(c.master(), { type: 'list', path: '/s' })).map((e) => e.name)).toEqual(['f']);
    expect((await c.sim.call(c.master(), { type: 'list', path: '/d' })).map((e) => e.name).sort()).toEqual(['f', 'in0', 'in1', 'in2', 'in3', 'in4']);
  });
});

describe('master: checkpoints are made without stopping mutations', () => {
  it('creates are acknowledged while a checkpoint is written piece by piece; a crash mid-checkpoint or after it loses nothing', async () => {
    const c = cell(26, { checkpointPieceRows: 1, checkpointEveryRecords: 100_000 });
    await c.sim.runFor(300);
    for (let i = 0; i < 200; i++) c.sim.ask(c.master(), { type: 'create', path: `/f${i}` });
    await c.sim.runFor(100);
    const order: string[] = [];
    c.sim.ask(c.master(), { type: 'checkpoint' }).then((pieces) => order.push(`checkpoint ${pieces}`));
    await c.sim.runFor(10);
    expect((await c.sim.call(c.master(), { type: 'status' })).checkpointing).toBe(true);
    c.sim.ask(c.master(), { type: 'create', path: '/during' }).then(() => order.push('create'));
    await c.sim.runUntil(() => order.length === 2);
    expect(order[0]).toBe('create');
    expect(order[1]).toMatch(/^checkpoint \d+$/);
    // the create came after the checkpoint's copy: it is in the log after it, not lost
    expect((await c.sim.call(c.master(), { type: 'status' })).recordsSinceCheckpoint).toBe(1);
    // a crash in the middle of the next checkpoint: recovery uses the complete one plus the log
    for (let i = 0; i < 20; i++) await c.sim.call(c.master(), { type: 'create', path: `/g${i}` });
    c.sim.ask(c.master(), { type: 'checkpoint' }).catch(() => undefined);
    let checkpointing = false;
    for (let t = 0; t < 100 && !checkpointing; t++) {
      await c.sim.runFor(0.05);
      checkpointing = c.sim.isUp('m') && (await c.sim.call(c.master(), { type: 'status' })).checkpointing;
    }
    expect(checkpointing).toBe(true);
    c.sim.crash('m');
    c.sim.restart('m');
    const names = (await c.sim.call(c.master(), { type: 'list', path: '/' })).map((e) => e.name);
    expect(names).toHaveLength(200 + 1 + 20);
    expect(names).toContain('during');
    expect(await c.sim.call(c.master(), { type: 'checkpoint' })).toBeGreaterThan(200);
    c.sim.crash('m');
    c.sim.restart('m');
    expect(await c.sim.call(c.master(), { type: 'list', path: '/' })).toHaveLength(221);
    expect((await c.sim.call(c.master(), { type: 'status' })).recordsSinceCheckpoint).toBe(0);
  });
});

describe('master: messages from a chunkserver it does not know', () => {
  it('are refused with a clear error (logged for a tell) and change nothing', async () => {
    const c = cell(27);
    await leased(c);
    c.sim.tell(c.master(), { type: 'chunk-created', server: 'ghost', handle: 1, version: 2 });
    c.sim.tell(c.master(), { type: 'bad-replica', server: 'ghost', handle: 1, reason: 'x' });
    await c.sim.runFor(20);
    const refused = c.logs.filter((r) => r.msg === 'message refused').map((r) => String(r.fields?.error));
    expect(refused).toEqual([expect.stringMatching(/unknown chunkserver "ghost"/), expect.stringMatching(/unknown chunkserver "ghost"/)]);
    expect((await c.sim.call(c.master(), { type: 'locate', path: '/d/f', index: 0 })).replicas).toEqual(['cs1', 'cs2', 'cs3']);
  });
});

describe('master: bad input from clients and chunkservers', () => {
  it('gets a clear error each, changes nothing, and the master goes on serving', async () => {
    const c = cell(28);
    const lease = await leased(c);
    const m = c.master();
    const refused = (msg: MasterMsg): Promise<string> => outcome(c.sim.call(m, msg as MasterMsg & { type: 'stat' }));
    expect(await refused({ type: 'locate', path: '/d/f', index: -1 })).toMatch(/bad chunk index -1: an integer >= 0/);
    expect(await refused({ type: 'lease', path: '/d/f', index: '0' as unknown as number })).toMatch(/bad chunk index "0"/);
    expect(await refused({ type: 'locate', path: '/d/f', index: 7 })).toMatch(/\/d\/f has no chunk 7/);
    expect(await refused({ type: 'locate', path: '/d/nothing', index: 0 })).toMatch(/\/d\/nothing does not exist/);
    expect(await refused({ type: 'snapshot', source: '/nothing', target: '/s' })).toMatch(/\/nothing does not exist/);
    expect(await refused({ type: 'snapshot', source: '/d', target: '/d' })).toMatch(/already exists/);
    expect(await refused({ type: 'rename', from: '/d', to: '/d/inside' })).toMatch(/\/d\/inside lies within \/d/);
    expect(await refused({ type: 'extend-lease', server: lease.primary, handle: 12345, version: 1 })).toMatch(/unknown chunk handle 12345/);
    expect(await refused({ type: 'extend-lease', server: lease.primary, handle: lease.handle, version: 1 })).toMatch(/version 1 is stale/);
    expect(await refused({ type: 'extend-lease', server: 'nobody', handle: lease.handle })).toMatch(/unknown chunkserver "nobody"/);
    c.sim.tell(m, { type: 'heartbeat', server: 'z', rack: 'r', usedBytes: 0, capacityBytes: 1, chunks: [], leases: ['x' as unknown as number], ref: c.servers.get('cs1')! });
    await c.sim.runFor(10);
    expect(c.logs.map((r) => String(r.fields?.error))).toContainEqual(expect.stringMatching(/leases must be a list of chunk handles/));
    c.sim.tell(m, { type: 'heartbeat', server: 'cs1', rack: 'A', usedBytes: 0, capacityBytes: 1, chunks: [], stamp: { incarnation: 1, seq: -1 }, ref: c.servers.get('cs1')! });
    await c.sim.runFor(10);
    expect(c.logs.map((r) => String(r.fields?.error))).toContainEqual(expect.stringMatching(/heartbeat from cs1: bad stamp/));
    expect((await c.sim.call(m, { type: 'status' })).servers.map((s) => s.id)).toEqual(['cs1', 'cs2', 'cs3']);
    expect(await c.sim.call(m, { type: 'locate', path: '/d/f', index: 0 })).toMatchObject({ handle: lease.handle, version: lease.version });
    expect(await c.sim.call(m, { type: 'create', path: '/d/g' })).toBe(true);
  });
});
