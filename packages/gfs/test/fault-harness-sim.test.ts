import { describe, expect, it } from '@jest/globals';
import { RemoteActorError, seededRandom, type ActorRef } from '@actorfs/actors';
import { forEachSeed, SimCluster, withSeed } from '@actorfs/actors/testing';
import { RECORD_HEADER_BYTES } from '../src/append/record.ts';
import { GfsClient } from '../src/client/api.ts';
import type { ClientMsg } from '../src/client/protocol.ts';
import { ClientSession } from '../src/client/session.ts';
import { parseHiddenName } from '../src/namespace/path.ts';
import type { MasterMsg } from '../src/protocol.ts';
import { simGfs, tree } from './fixtures/sim-gfs.ts';

/**
 * The GFS fault harness: a master and five chunkservers on three racks in the simulator, clients
 * running namespace operations, chunk creations and lease requests concurrently, while the
 * network drops, duplicates and reorders, links partition, and the master and chunkservers crash
 * and restart. A checker then holds the cluster to the paper's claims (see each `check`). A
 * failing seed names itself: replay it with SIM_SEED=<n>.
 */

const SEEDS = 100;
/**
 * Seeds above SEEDS that each found a bug, run in CI too: 441, a clone copied a chunk from a
 * secondary while its primary, taken for dead but only partitioned, still appended under its lease
 * (the copy missed an acknowledged record).
 */
const PINNED_SEEDS = [441];
const RACKS = ['A', 'B', 'C', 'A', 'B'];
const GC_DELAY_MS = 3_000;
const config = {
  chunkSizeBytes: 64 * 1024,
  blockSizeBytes: 4096,
  heartbeatIntervalMs: 100,
  scanIntervalMs: 100,
  leaseMs: 500,
  leaseGrantTimeoutMs: 200,
  gcDelayMs: GC_DELAY_MS,
  checkpointEveryRecords: 25,
  checkpointPieceRows: 4,
  clonePieceBytes: 16 * 1024,
  cloneTimeoutMs: 1000,
  maxClonesPerServer: 4,
};
const DIRS = ['/t/a', '/t/b'];
const LOG = '/t/log';
const RECORD_BYTES = 2_000;
const recordPayload = (id: string): Uint8Array => new TextEncoder().encode(id.padEnd(RECORD_BYTES, '.'));

/** Runs the simulation until p settles. */
async function settle<T>(sim: SimCluster, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await sim.runUntil(() => done, { maxMs: 30_000 });
  return p;
}
const FILES_PER_DIR = 4;
const OP_TIMEOUT_MS = 3_000;
const faults = { drop: 0.02, duplicate: 0.02, delayMs: [1, 5] as const, reorder: true };

type State = 'exists' | 'absent' | 'unknown';
interface Settled {
  issuedMs: number;
  settledMs: number;
}
interface SnapshotRun extends Settled {
  source: string;
  target: string;
  /** Per file of the source: its known state when the snapshot was issued. */
  before: Map<string, State>;
}

function failure(err: unknown): string {
  return err instanceof RemoteActorError ? err.message : 'lost';
}

/** What a namespace operation's answer says of its path afterwards (a duplicated request may answer "exists" to its own create). */
function afterOp(type: 'create' | 'delete' | 'undelete', ok: boolean, error: string): State {
  if (ok) return type === 'delete' ? 'absent' : 'exists';
  if (/already exists/.test(error)) return 'exists';
  if (type === 'delete' && /does not exist/.test(error)) return 'absent';
  if (/being snapshotted|namespace busy/.test(error)) return 'unknown';
  if (error === 'lost' || /no deleted file/.test(error)) return 'unknown';
  throw new Error(`unexpected refusal of ${type}: ${error}`);
}

async function runSeed(seed: number): Promise<void> {
  const sim = new SimCluster({ seed, network: faults });
  const plan = simGfs(sim, { chunkservers: RACKS.map((rack) => ({ rack, capacityBytes: 1 << 30 })), config });
  const master: ActorRef<MasterMsg> = plan.master;
  const csNodes = plan.config.chunkservers.map((c) => c.node);
  const rackOf = new Map(plan.config.chunkservers.map((c) => [c.server, c.rack]));
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

  // clients of the data path: sessions on nodes of their own, behind the same faulty network
  const clientOn = (node: string, timeoutMs: number): GfsClient => {
    let ref: ActorRef<ClientMsg> | undefined;
    sim.addNode(node, { boot: (n) => void (ref = n.spawn(ClientSession, plan.clientProps(), { name: 'client' })) });
    return new GfsClient(ref!, (r, msg, o) => sim.ask(r, msg as ClientMsg & { type: 'read' }, o), { timeoutMs });
  };
  const appenders = ['client1', 'client2'].map((node) => clientOn(node, OP_TIMEOUT_MS));
  const reader = clientOn('reader', 30_000);

  // setup over a reliable client link
  await sim.runFor(300);
  for (const d of ['/t', '/snaps', ...DIRS]) await sim.call(master, { type: 'mkdir', path: d });
  await sim.call(master, { type: 'create', path: LOG });
  sim.setLink('sim', plan.config.masterNode, faults);
  sim.setLink(plan.config.masterNode, 'sim', faults);

  const files = DIRS.flatMap((d) => Array.from({ length: FILES_PER_DIR }, (_, i) => `${d}/f${i}`));
  const state = new Map<string, State>(files.map((f) => [f, 'absent']));
  /** Every operation on each file, with when it was issued and settled (open ones have no settledMs yet). */
  const history = new Map<string, Array<{ issuedMs: number; settledMs?: number }>>(files.map((f) => [f, []]));
  const busy = new Set<string>();
  const snapshots: SnapshotRun[] = [];
  let snapshotCount = 0;
  /** Answers no fault explains (collected here: a callback cannot fail the test itself). */
  const problems: string[] = [];
  let inFlight = 0;
  const down = new Set<string>();

  const track = <T>(path: string | undefined, p: Promise<T>, done: (ok: boolean, value: T | undefined, error: string) => void): void => {
    inFlight++;
    const entry: { issuedMs: number; settledMs?: number } = { issuedMs: sim.now() };
    if (path) {
      busy.add(path);
      history.get(path)!.push(entry);
    }
    p.then(
      (v) => done(true, v, ''),
      (err: unknown) => done(false, undefined, failure(err)),
    ).finally(() => {
      inFlight--;
      entry.settledMs = sim.now();
      if (path) busy.delete(path);
    });
  };

  const fileOp = (type: 'create' | 'delete' | 'undelete'): void => {
    const path = pick(files.filter((f) => !busy.has(f)));
    if (!path) return;
    track(path, sim.ask(master, { type, path }, { timeoutMs: OP_TIMEOUT_MS }), (ok, _v, error) => {
      try {
        state.set(path, afterOp(type, ok, error));
      } catch (err) {
        problems.push(String(err));
      }
    });
  };
  const snapshot = (): void => {
    const source = pick(DIRS);
    const target = `/snaps/s${snapshotCount++}`;
    const run: SnapshotRun = { source, target, issuedMs: sim.now(), settledMs: -1, before: new Map(files.filter((f) => f.startsWith(`${source}/`)).map((f) => [f, busy.has(f) ? 'unknown' : state.get(f)!])) };
    track(undefined, sim.ask(master, { type: 'snapshot', source, target }, { timeoutMs: OP_TIMEOUT_MS }), (ok, _v, error) => {
      run.settledMs = sim.now();
      if (ok) snapshots.push(run);
      // (a duplicated request finds its own snapshot there)
      else if (!/lost|already exists/.test(error)) problems.push(`snapshot refused: ${error}`);
    });
  };
  /** Acknowledged appends: record id -> the file offset the append returned. */
  const appended = new Map<string, number>();
  let appends = 0;
  const append = (): void => {
    const id = `r${appends++}`;
    const c = pick(appenders);
    track(undefined, c.append(LOG, recordPayload(id), id), (ok, offset) => {
      if (ok) appended.set(id, offset!);
    });
  };
  const chunkOp = (): void => {
    const path = pick(files);
    const msg: MasterMsg & { type: 'lease' } = { type: 'lease', path, index: 0 };
    if (rand() < 0.5) track(undefined, sim.ask(master, { type: 'add-chunk', path }, { timeoutMs: OP_TIMEOUT_MS }), () => undefined);
    else track(undefined, sim.ask(master, msg, { timeoutMs: OP_TIMEOUT_MS }), () => undefined);
  };

  /** check: the master never names a replica older than the version it answers with. */
  const checkLocate = async (): Promise<void> => {
    const path = pick(files);
    const loc = await sim.call(master, { type: 'locate', path, index: 0 }, { timeoutMs: 500 }).catch(() => undefined);
    for (const s of loc?.replicas ?? []) {
      const node = plan.config.chunkservers.find((c) => c.server === s)!.node;
      if (!sim.isUp(node)) continue;
      const info = await sim.call(plan.chunkservers.get(s)!, { type: 'chunk-info', handle: loc!.handle }, { timeoutMs: 500 }).catch(() => null);
      // (a replica deleted since the answer reads as unknown, and a reader tries another)
      if (info) expect({ seed, s, handle: loc!.handle, stale: info.version < loc!.version }).toEqual({ seed, s, handle: loc!.handle, stale: false });
    }
  };

  for (let step = 0; step < 60; step++) {
    const r = rand();
    if (r < 0.35) fileOp('create');
    else if (r < 0.5) fileOp('delete');
    else if (r < 0.57) fileOp('undelete');
    else if (r < 0.64) snapshot();
    else if (r < 0.72) chunkOp();
    else if (r < 0.8) append();
    else if (r < 0.84 && !down.has(plan.config.masterNode)) {
      sim.crash(plan.config.masterNode);
      await sim.runFor(rand() * 30);
      sim.restart(plan.config.masterNode);
    } else if (r < 0.9) {
      const n = pick(csNodes);
      if (down.has(n)) {
        sim.restart(n);
        down.delete(n);
      } else if (down.size < 2) {
        sim.crash(n);
        down.add(n);
      }
    } else if (r < 0.94) {
      sim.partition([pick(csNodes)], [plan.config.masterNode]);
    } else sim.heal();
    await sim.runFor(rand() * 40);
    if (step % 6 === 0) await checkLocate();
  }

  // quiesce: every outcome known, the network whole, every chunkserver back
  sim.heal();
  sim.setNetwork({});
  sim.setLink('sim', plan.config.masterNode, {});
  sim.setLink(plan.config.masterNode, 'sim', {});
  for (const n of down) sim.restart(n);
  await sim.runUntil(() => inFlight === 0, { maxMs: OP_TIMEOUT_MS + 100 });
  expect(inFlight).toBe(0);
  expect({ seed, problems }).toEqual({ seed, problems: [] });

  // check: no acknowledged mutation lost, and the namespace the same after a master restart
  const stat = async (path: string): Promise<State> =>
    sim.call(master, { type: 'stat', path }).then(
      () => 'exists' as const,
      (e: unknown) => (/does not exist/.test(failure(e)) ? 'absent' : `error ${failure(e)}`) as State,
    );
  for (const [path, s] of state) if (s !== 'unknown') expect({ seed, path, state: await stat(path) }).toEqual({ seed, path, state: s });
  // (a file due for reclaim may be reclaimed in a scan whose record a crash then loses: nobody was told)
  const notDue = (t: Array<[string, 'dir' | 'file']>): Array<[string, 'dir' | 'file']> =>
    t.filter(([p]) => (parseHiddenName(p.slice(p.lastIndexOf('/') + 1))?.deletedAtMs ?? Infinity) + GC_DELAY_MS > sim.now());
  const before = await tree(sim, master);
  sim.crash(plan.config.masterNode);
  sim.restart(plan.config.masterNode);
  expect(notDue(await tree(sim, master))).toEqual(notDue(before));

  // check: every acknowledged record is intact at the offset its append returned
  for (const [id, offset] of appended) {
    const at = await settle(sim, reader.read(LOG, offset, RECORD_HEADER_BYTES + id.length + RECORD_BYTES));
    const got = { id: new TextDecoder().decode(at.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + id.length)), payload: Buffer.from(at.subarray(RECORD_HEADER_BYTES + id.length)).equals(Buffer.from(recordPayload(id))) };
    expect({ seed, offset, ...got }).toEqual({ seed, offset, id, payload: true });
  }

  // check: a snapshot holds exactly the files whose state was known and untouched while it ran
  const snapTree = new Set(before.map(([p]) => p));
  for (const s of snapshots) {
    expect(snapTree.has(s.target)).toBe(true);
    for (const [file, known] of s.before) {
      const touched = history.get(file)!.some((op) => op.issuedMs <= s.settledMs && (op.settledMs ?? Infinity) >= s.issuedMs);
      if (known === 'unknown' || touched) continue;
      const copy = s.target + file.slice(s.source.length);
      expect({ seed, snapshot: s.target, file, inSnapshot: snapTree.has(copy) }).toEqual({ seed, snapshot: s.target, file, inSnapshot: known === 'exists' });
    }
  }

  // a chunkserver dies for good; the rest of the cluster heals, and deleted files pass their delay
  const victim = pick(plan.config.chunkservers);
  sim.crash(victim.node);
  await sim.runFor(GC_DELAY_MS + 2_000);

  // check: every chunk of every file back at 3 current replicas, on as many racks as the live servers offer
  const racksLeft = new Set(plan.config.chunkservers.filter((c) => c !== victim).map((c) => c.rack)).size;
  const final = await tree(sim, master);
  const known = new Map<number, number>();
  for (const [path, kind] of final) {
    if (kind !== 'file') continue;
    const hidden = parseHiddenName(path.slice(path.lastIndexOf('/') + 1));
    // check: deleted files are reclaimed after the delay (and only after: undelete worked before it, above)
    expect({ seed, path, overdue: hidden !== undefined && hidden.deletedAtMs + GC_DELAY_MS + 1_000 < sim.now() }).toEqual({ seed, path, overdue: false });
    const { chunks } = (await sim.call(master, { type: 'stat', path })) as { chunks: number };
    for (let index = 0; index < chunks; index++) {
      const loc = await sim.call(master, { type: 'locate', path, index });
      known.set(loc.handle, loc.version);
      const racks = new Set(loc.replicas.map((s) => rackOf.get(s))).size;
      expect({ seed, path, index, replicas: loc.replicas.length, racks, victim: loc.replicas.includes(victim.server) }).toEqual({ seed, path, index, replicas: 3, racks: Math.min(3, racksLeft), victim: false });
    }
  }
  // check: stale replicas and orphans (chunks of reclaimed files) are collected from every live chunkserver
  for (const c of plan.config.chunkservers) {
    if (c === victim) continue;
    for (const held of await sim.call(plan.chunkservers.get(c.server)!, { type: 'inspect' })) {
      expect({ seed, server: c.server, handle: held.handle, version: held.version }).toEqual({ seed, server: c.server, handle: held.handle, version: known.get(held.handle) });
    }
  }
}

describe('GFS fault harness (simulator: drops, duplicates, reordering, partitions, crash-restarts)', () => {
  it(`keeps every acknowledged mutation, a consistent namespace under concurrent snapshots, fresh replicas only, re-replication across racks and garbage collection, over ${SEEDS} seeds`, async () => {
    await forEachSeed(SEEDS, runSeed);
  }, 1_200_000); // catches a hang only: the seeds take minutes on a loaded machine

  it(`replays the seeds above the CI count that each found a bug (${PINNED_SEEDS.join(', ')})`, async () => {
    for (const seed of PINNED_SEEDS) await withSeed(seed, runSeed);
  }, 300_000);
});
