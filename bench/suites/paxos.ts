import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { open, type RootDatabase } from 'lmdb';
import { ActorSystem } from '@actorfs/actors';
import { KV_MACHINE, PaxosClient, planGroup, type Asker, type BatchBounds, type GroupPlan, type ProposeReply, type ProposerStatus } from '@actorfs/paxos';
import { rawPingPong } from '../raw.ts';
import { Breakdown } from './paxos-breakdown.ts';
import { snapshotCatchUpMbPerSec } from './paxos-catch-up.ts';
import { collector, median, percentile, type Figure, type Suite } from '../suite.ts';

const nodes = ['w1', 'w2', 'w3'];
/** commit_1 is measured after this long under its load (`commit_1_first_5s_per_s` reports it). */
const WARM_UP_MS = 5_000;
/**
 * On one disk, two syncs that start apart overlap less than two that start together; a remote
 * accept starts about one cross-thread hop (plus waking the thread) after the leader's own.
 */
const STAGGER_US = 150;
/** Commands one pipelined client keeps in flight. */
const PIPELINE = 64;
/** The parts to run, as a comma list (default all); e.g. PAXOS_BENCH_PARTS=commit_1 while working on its latency. */
const ALL_PARTS = ['commit_1', 'commit_256', 'pipelined', 'catch_up'] as const;
const PARTS = new Set((process.env.PAXOS_BENCH_PARTS ?? ALL_PARTS.join(',')).split(','));
for (const p of PARTS) if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`PAXOS_BENCH_PARTS: unknown part ${p} (known: ${ALL_PARTS.join(', ')})`);
/** PAXOS_BENCH_BREAKDOWN=1: the group's actors stamp each slot's way, and commit_1 reports where its time goes. */
const BREAKDOWN = process.env.PAXOS_BENCH_BREAKDOWN === '1';

/** A started group: its plan, and clients for it. */
interface Group {
  system: ActorSystem;
  plan: GroupPlan;
  client(id: string, batch?: BatchBounds, watched?: Breakdown): PaxosClient<typeof KV_MACHINE>;
}
type Add = (f: Figure) => void;

/**
 * Multi-Paxos commit throughput and latency: 3 replicas (acceptor + proposer + learner each) on
 * 3 worker nodes, LMDB synced on every acceptor, clients on the main thread; and the raw limit of
 * one synced LMDB put at a time, measured in the same run.
 */
export const suite: Suite = {
  async run(report) {
    const { add, figures } = collector(report);
    const single = SyncedPuts.open(1);
    add({ name: 'lmdb_single_durable_put_per_s', value: (await single.rounds(1_500)).perSec, unit: 'put/s', goal: 'raw limit' });
    await single.close();
    // Opened before the cluster and kept for the whole run: creating and deleting environments
    // between windows would put file-system work on the disk that commit_1 then pays for.
    const quorum = SyncedPuts.open(2);

    const dataDir = mkdtempSync(join(tmpdir(), 'paxos-bench-'));
    const system = await ActorSystem.start({ workers: nodes, dataDir, modules: [new URL('../kinds/paxos-bench.ts', import.meta.url)] });
    try {
      const group = await startGroup(system);
      if (PARTS.has('commit_1')) await commitOne(group, quorum, add);
      const many = PARTS.has('commit_256') ? await commitMany(group, add) : undefined;
      if (PARTS.has('pipelined')) await pipelined(group, many, add);
      if (PARTS.has('catch_up')) {
        const mib = Number(process.env.PAXOS_BENCH_CATCH_UP_MIB ?? 256);
        add({ name: 'snapshot_catch_up_mb_per_s', value: await snapshotCatchUpMbPerSec(system, nodes, mib), unit: 'MB/s', goal: `>= 100 (a new learner, ${mib} MiB of state)` });
      }
    } finally {
      await system.shutdown();
      await quorum.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    return figures;
  },
};

async function startGroup(system: ActorSystem): Promise<Group> {
  const plan = planGroup({ acceptors: nodes, proposers: nodes, learners: nodes, machine: KV_MACHINE, timing: { leaseMs: 2000, maxInflightSlots: 64, maxBatch: 512 }, trace: BREAKDOWN });
  for (const s of plan.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
  await waitForLeader(system, plan.proposers);
  const ask: Asker = (ref, m, timeoutMs) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
  const client = (id: string, batch?: BatchBounds, watched?: Breakdown): PaxosClient<typeof KV_MACHINE> =>
    new PaxosClient({
      clientId: id,
      machine: KV_MACHINE,
      proposers: plan.proposers,
      ask: watched ? watched.watch(ask) : ask,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      timeoutMs: 5_000,
      ...(batch ? { batch } : {}),
    });
  return { system, plan, client };
}

/**
 * One client, one command at a time, against the disk's floor. A fresh cluster commits slower for
 * its first seconds (measured), so commit_1 is measured in steady state, after WARM_UP_MS of the
 * same load. This disk's sync latency drifts by 2x within seconds, so the floor (a commit needs a
 * majority's synced accepts, and here every acceptor shares one disk) is measured in windows
 * interleaved with commit_1's, and each figure is the median over the windows.
 */
async function commitOne({ system, plan, client }: Group, quorum: SyncedPuts, add: Add): Promise<void> {
  const breakdown = BREAKDOWN ? new Breakdown() : undefined;
  const solo = client('solo', undefined, breakdown);
  const cold = await drive([solo], 0, WARM_UP_MS);
  await breakdown?.reset(system, plan);
  add({ name: 'commit_1_first_5s_per_s', value: cold.perSec, unit: 'commit/s', goal: 'measured: a fresh cluster, the warm-up' });
  const windows: Array<{ floor: Rounds; staggered: Rounds; one: Driven }> = [];
  for (let w = 0; w < 5; w++) {
    const floor = await quorum.rounds(300);
    const staggered = await quorum.rounds(300, STAGGER_US);
    windows.push({ floor, staggered, one: await drive([solo], 100, 1_000) });
  }
  const over = (f: (w: (typeof windows)[number]) => number): number => median(windows.map(f));
  add({ name: 'lmdb_quorum_of_two_durable_puts_per_s', value: over((w) => w.floor.perSec), unit: 'round/s', goal: 'floor for commit_1: two synced puts at once, both awaited' });
  add({ name: 'lmdb_quorum_of_two_staggered_puts_per_s', value: over((w) => w.staggered.perSec), unit: 'round/s', goal: `the same, the second put ${STAGGER_US} us after the first` });
  add({ name: 'lmdb_quorum_of_two_staggered_p50_ms', value: over((w) => w.staggered.p50), unit: 'ms', goal: 'measured: its median round' });
  add({ name: 'commit_1_in_flight_per_s', value: over((w) => w.one.perSec), unit: 'commit/s', goal: 'follows the disk: see its ratio to the staggered floor (etcd 3.4: 369)' });
  add({ name: 'commit_1_in_flight_p50_ms', value: over((w) => w.one.p50), unit: 'ms', goal: '<= 1.5' });
  add({ name: 'commit_1_in_flight_p99_ms', value: over((w) => w.one.p99), unit: 'ms', goal: 'measured: the disk\'s slow syncs' });
  add({ name: 'commit_1_in_flight_vs_quorum_floor', value: over((w) => w.one.perSec / w.floor.perSec), unit: 'ratio', goal: '1.0 = the disk is the only cost' });
  add({ name: 'commit_1_in_flight_vs_staggered_floor', value: over((w) => w.one.perSec / w.staggered.perSec), unit: 'ratio', goal: '>= 0.8' });
  // The rates are means, and a second of either holds a tail of slow syncs that come and go with
  // the other users of the disk; the medians compare the common case and move far less run to run.
  add({ name: 'commit_1_in_flight_p50_vs_staggered_p50', value: over((w) => w.staggered.p50 / w.one.p50), unit: 'ratio', goal: 'measured: median round over median commit' });
  if (breakdown) for (const f of await breakdown.figures(system, plan, await waitForLeader(system, plan.proposers))) add(f);
  // What commit_1 spends beyond the staggered floor is mostly cross-thread hops, each to a
  // thread that slept while the disk synced: this machine's price for one, without actors.
  add({ name: 'raw_pingpong_p50_us', value: median(await rawPingPong(4_000)), unit: 'us', goal: 'baseline: back to back' });
  add({ name: 'raw_pingpong_after_idle_p50_us', value: median(await rawPingPong(800, 1)), unit: 'us', goal: 'baseline: each after 1 ms idle' });
}

/** 256 clients, one command each in flight. */
async function commitMany({ system, plan, client }: Group, add: Add): Promise<Driven> {
  const leaderNode = await waitForLeader(system, plan.proposers);
  const encodedBefore = (await system.stats(leaderNode)).encodedBodies;
  const many = await drive(Array.from({ length: 256 }, (_, i) => client(`c${i}`)), 1_000, 4_000);
  const encoded = (await system.stats(leaderNode)).encodedBodies - encodedBefore;
  add({ name: 'commit_256_in_flight_per_s', value: many.perSec, unit: 'commit/s', goal: '>= 20,000 (etcd 3.4, 64 in flight: 3,174)' });
  // Counted over the warm-up and the span: each reply is a body; a slot's Accept and commit one each (sendMany).
  add({ name: 'commit_256_leader_encoded_bodies_per_commit', value: encoded / many.commits, unit: 'body', goal: 'count: about 1 (the reply) plus 2 per slot' });
  add({ name: 'commit_256_in_flight_p99_ms', value: many.p99, unit: 'ms', goal: 'measured' });
  // The 256 clients run on this thread: its event-loop busy share over the span, and its busy time per commit.
  add({ name: 'commit_256_client_thread_busy_share', value: many.busyShare, unit: 'ratio', goal: 'measured: 1.0 = the clients\' thread is the limit' });
  add({ name: 'commit_256_client_thread_us_per_commit', value: many.busyUsPerCommit, unit: 'us', goal: 'measured: the clients\' thread, per commit' });
  return many;
}

/** One client, one session, PIPELINE commands in flight through its window; against commit_256 when it ran. */
async function pipelined({ client }: Group, many: Driven | undefined, add: Add): Promise<void> {
  const pipelined = client('pipelined');
  const piped = await drive(Array.from({ length: PIPELINE }, () => pipelined), 1_000, 4_000);
  add({ name: 'pipelined_client_commits_per_s', value: piped.perSec, unit: 'commit/s', goal: `one client, ${PIPELINE} in flight` });
  if (many) add({ name: 'pipelined_client_vs_commit_256', value: piped.perSec / many.perSec, unit: 'ratio', goal: '>= 0.5' });
  // The same, the proposes of each turn sent as one propose-batch.
  const batched = client('pipelined-batched', { maxCommands: 512, maxBytes: 1 << 20 });
  const batchedPiped = await drive(Array.from({ length: PIPELINE }, () => batched), 1_000, 4_000);
  add({ name: 'pipelined_batched_client_commits_per_s', value: batchedPiped.perSec, unit: 'commit/s', goal: `one client, ${PIPELINE} in flight, a turn's proposes in one message` });
  if (many) add({ name: 'pipelined_batched_client_vs_commit_256', value: batchedPiped.perSec / many.perSec, unit: 'ratio', goal: 'measured: against pipelined_client_vs_commit_256' });
}

/** What drive measured over its span; `commits` counts the warm-up's too. */
interface Driven {
  perSec: number;
  p50: number;
  p99: number;
  commits: number;
  busyShare: number;
  busyUsPerCommit: number;
}

/** Each client proposes puts back to back: a warm-up, then a measured span. */
async function drive(clients: Array<PaxosClient<typeof KV_MACHINE>>, warmMs: number, spanMs: number): Promise<Driven> {
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  let count = 0;
  let commits = 0;
  const loops = clients.map(async (c, i) => {
    for (let n = 0; !stop; n++) {
      const t0 = performance.now();
      await c.propose({ op: 'put', key: `k${i}`, value: n });
      commits++;
      if (measuring) {
        latencies.push(performance.now() - t0);
        count++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, warmMs));
  measuring = true;
  const t0 = performance.now();
  const loop0 = performance.eventLoopUtilization();
  await new Promise((r) => setTimeout(r, spanMs));
  measuring = false;
  const elapsed = performance.now() - t0;
  const loop = performance.eventLoopUtilization(loop0);
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    perSec: (count / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    commits,
    busyShare: loop.utilization,
    busyUsPerCommit: (loop.active * 1000) / Math.max(1, count),
  };
}

/** The leader's node, once a leader holds its lease. */
async function waitForLeader(system: ActorSystem, proposers: ReturnType<typeof planGroup>['proposers']): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const statuses: ProposerStatus[] = await Promise.all(proposers.map((p) => system.ask(p, { type: 'status' })));
    const leader = statuses.find((s) => s.role === 'leader' && s.leaseValid);
    if (leader) return proposers[leader.id]!.node;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no leader emerged');
}

interface Rounds {
  perSec: number;
  p50: number;
}

/**
 * Synced puts, one round at a time: each round puts once into each of `envs` environments at
 * once and waits for all of them (so with 2, a round is a quorum of two acceptors on one disk).
 * Opened as LmdbStore opens its environment (every commit synced before its promise resolves, no
 * event-turn batching).
 */
class SyncedPuts {
  private next = 0;
  private constructor(
    private readonly dirs: string[],
    private readonly dbs: RootDatabase[],
  ) {}

  static open(envs: number): SyncedPuts {
    const dirs = Array.from({ length: envs }, () => mkdtempSync(join(tmpdir(), 'lmdb-bench-')));
    return new SyncedPuts(dirs, dirs.map((path) => open({ path, overlappingSync: false, eventTurnBatching: false })));
  }

  /**
   * Rounds per second over `rounds` rounds, after a few unmeasured ones, and their median in ms.
   * With staggerUs, each put starts that long after the one before (busy-waiting), as an accept
   * reaches a remote acceptor a hop after the leader's own.
   */
  async rounds(rounds: number, staggerUs = 0): Promise<Rounds> {
    const value = Buffer.alloc(100, 1);
    const round = (): Promise<unknown> => {
      const key = `k${this.next++ % 10_000}`;
      return Promise.all(
        this.dbs.map((db, i) => {
          if (i > 0) busyWait(staggerUs);
          return db.put(key, value);
        }),
      );
    };
    for (let i = 0; i < 50; i++) await round();
    const took: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      await round();
      took.push(performance.now() - start);
    }
    return { perSec: (rounds / (performance.now() - t0)) * 1000, p50: median(took) };
  }

  async close(): Promise<void> {
    await Promise.all(this.dbs.map((db) => db.close()));
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function busyWait(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}
