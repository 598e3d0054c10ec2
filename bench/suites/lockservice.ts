import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { PaxosClient, PaxosDomainError, type ProposeReply } from '@actorfs/paxos';
import { cellMachine, ClientSession, LsClient, LsClientError, planCell, type CellPlan, type ClientMsg } from '@actorfs/lockservice';
import { closedLoopRate, collector, median, percentile, type Figure, type Suite } from '../suite.ts';
import { SessionHerd } from '../kinds/session-herd.ts';
import { ThreadBusy, type ThreadBusyMsg } from '../kinds/thread-busy.ts';
import { BENCH_CELL, HELD_CELL } from './lockservice-cell.ts';

/** Each measured span. */
const SPAN_MS = Number(process.env.LS_BENCH_SPAN_MS ?? 3_000);
/** Sessions kept alive by one master, and for how long (the issue asks for a minute). */
const HELD_SESSIONS = Number(process.env.LS_BENCH_SESSIONS ?? 100_000);
const HOLD_MS = Number(process.env.LS_BENCH_HOLD_MS ?? 60_000);
/**
 * A fresh cluster commits slower for its first seconds (as the paxos suite finds): each figure comes
 * after this long under its own load. The lock cycles ran first on cold nodes, each thread's JIT
 * compiling their paths during the span measured (the CPU profile showed V8's compiler threads at
 * their busiest then), while commit_256 came after them on warm code.
 */
const WARM_UP_MS = Number(process.env.LS_BENCH_WARM_UP_MS ?? 3_000);
/** The parts to run, as a comma list (default all); e.g. LS_BENCH_PARTS=commit,16,256 while working on throughput. */
const ALL_PARTS = ['commit', 'seq', '16', '256', 'cached', 'sessions', 'failover'] as const;
const PARTS = new Set((process.env.LS_BENCH_PARTS ?? ALL_PARTS.join(',')).split(','));
for (const p of PARTS) if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`LS_BENCH_PARTS: unknown part ${p} (known: ${ALL_PARTS.join(', ')})`);
// The sequential and 16-client figures are reported against commit_1 measured in the same run.
if (PARTS.has('seq') || PARTS.has('16')) PARTS.add('commit');

/**
 * The ratio the absolute 16-client goal stands for: 3,000 cycles/s (6,000 commands/s from 16
 * clients, each one command at a time) over the bound 16 / (2 x commit_1's latency) at Paxos's own
 * goal for commit_1 (p50 <= 1.5 ms): 3,000 / 5,333.
 */
const GOAL_16_VS_BOUND = 3_000 / (16 / (2 * 1.5e-3));

/**
 * Prints whether a lock-cycle goal is met: absolutely, or, where this machine's Paxos group cannot
 * carry the absolute figure, as the ratio to the bound measured in the same run that it stands for
 * (for the sequential cycle the issue asks for both).
 */
function sayVerdict(what: string, perSec: number, goal: number, ratio?: number, ratioGoal?: number, ratioAlsoAsked = false): void {
  const ratioMet = ratio !== undefined && ratioGoal !== undefined && ratio >= ratioGoal;
  const how =
    perSec >= goal && (ratioMet || !ratioAlsoAsked)
      ? `met: ${Math.round(perSec).toLocaleString('en-US')} >= ${goal.toLocaleString('en-US')} cycles/s`
      : ratioMet
        ? `met as a ratio to this run's bound: ${ratio.toFixed(2)} >= ${ratioGoal.toFixed(2)}`
        : 'not met';
  console.log(`(lock cycles, ${what}: goal ${how})`);
}

/**
 * The lock service on 5 replicas (worker nodes, synced LMDB), clients on the main thread; with
 * its Paxos baseline (one command at a time through the cell's own group) in the same run.
 */
export const suite: Suite = {
  async run(report) {
    const { add, figures } = collector(report);
    const dataDir = mkdtempSync(join(tmpdir(), 'lockservice-bench-'));
    const system = await ActorSystem.start({ workers: BENCH_CELL.nodes, dataDir, modules: [new URL('../kinds/lockservice-bench.ts', import.meta.url)] });
    try {
      const plan = planCell(BENCH_CELL);
      for (const s of plan.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
      const client = async (name: string, on: CellPlan = plan): Promise<LsClient> => {
        const ref = await system.spawn(ClientSession, { config: on.config, servers: on.servers, principal: 'bench' }, { name });
        return new LsClient(ref, (r, msg) => system.ask(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: 60_000 }));
      };
      let commit1PerSec: number | undefined;
      if (PARTS.has('commit')) {
        const commit1 = await commitOneAtATime(system, plan);
        commit1PerSec = commit1.perSec;
        add({ name: 'commit_1_in_flight_per_s', value: commit1.perSec, unit: 'commit/s', goal: "baseline: the cell's own group, one command at a time" });
        add({ name: 'commit_1_syncs_per_commit', value: commit1.counts.syncs, unit: 'sync', goal: "counted: synced writes on the cell's nodes (3 of 5 acceptors must sync)" });
      }
      const solo = await client('solo');
      if (PARTS.has('seq')) {
        const seq = await lockCycles(system, plan, [solo], 'seq');
        add({ name: 'lock_cycle_sequential_per_s', value: seq.perSec, unit: 'cycle/s', goal: ">= 350 (etcd 3.4: 108): absolute, bound by this disk; the issue's own ratio is lock_cycle_sequential_vs_commit_1 >= 0.4" });
        const vsCommit1 = commit1PerSec === undefined ? undefined : seq.perSec / commit1PerSec;
        if (vsCommit1 !== undefined) add({ name: 'lock_cycle_sequential_vs_commit_1', value: vsCommit1, unit: 'ratio', goal: '>= 0.4' });
        sayVerdict('sequential', seq.perSec, 350, vsCommit1, 0.4, true);
      }
      if (PARTS.has('16')) {
        const sixteen = await Promise.all(Array.from({ length: 16 }, (_, i) => client(`c16-${i}`)));
        const cycles16 = await lockCycles(system, plan, sixteen, 'l16');
        addCycles(add, '16_clients', cycles16, `>= 3,000 (etcd: 362): absolute; where this disk's commit_1 cannot reach it, judged by lock_cycle_16_clients_vs_bound >= ${GOAL_16_VS_BOUND.toFixed(2)}`);
        if (commit1PerSec === undefined) sayVerdict('16 clients', cycles16.perSec, 3_000);
        else {
          // 16 clients, each one command at a time, two commands a cycle: at most 16 / (2 x commit_1's latency) cycles/s.
          const bound = (16 * commit1PerSec) / 2;
          add({ name: 'lock_cycle_16_clients_bound_per_s', value: bound, unit: 'cycle/s', goal: "the bound in this run: 16 / (2 x commit_1's latency), commit_1 measured above" });
          add({ name: 'lock_cycle_16_clients_vs_bound', value: cycles16.perSec / bound, unit: 'ratio', goal: `>= ${GOAL_16_VS_BOUND.toFixed(2)}: 3,000 cycles/s over the bound at Paxos's commit_1 goal (p50 <= 1.5 ms: 16 / (2 x 1.5 ms) = 5,333 cycles/s); 1.0 = every command takes one commit of its own` });
          sayVerdict('16 clients', cycles16.perSec, 3_000, cycles16.perSec / bound, GOAL_16_VS_BOUND);
        }
      }
      if (PARTS.has('256')) {
        const many = await Promise.all(Array.from({ length: 256 }, (_, i) => client(`c256-${i}`)));
        const cycles256 = await lockCycles(system, plan, many, 'l256');
        addCycles(add, '256_clients', cycles256, '>= 10,000: absolute; where this machine\'s group cannot reach it, judged by lock_cycle_256_clients_vs_commit_256 >= 1.0');
        const { perSec: commit256, counts: perCommit } = await commitsInFlight(system, plan, 256);
        add({ name: 'commit_256_in_flight_per_s', value: commit256, unit: 'commit/s', goal: "baseline: the cell's own group, 256 clients' commands at once" });
        addCpu(add, 'commit_256', 'command', perCommit);
        // What a cycle costs beyond its two commands through the group alone: the lock service's own work.
        add({ name: 'lock_cycle_256_clients_process_cpu_us_beyond_group', value: cycles256.counts.processCpuUs - 2 * perCommit.processCpuUs, unit: 'us', goal: "measured: the process's CPU per cycle less two of commit_256's commands" });
        add({ name: 'lock_cycle_256_clients_nodes_cpu_us_beyond_group', value: cycles256.counts.nodesCpuUs - 2 * perCommit.nodesCpuUs, unit: 'us', goal: "measured: the cell nodes' CPU per cycle less two of commit_256's commands" });
        add({ name: 'lock_cycle_256_clients_bound_per_s', value: commit256 / 2, unit: 'cycle/s', goal: 'the bound in this run: commit_256 / 2 (a cycle is two commands)' });
        add({ name: 'lock_cycle_256_clients_vs_commit_256', value: (2 * cycles256.perSec) / commit256, unit: 'ratio', goal: ">= 1.0: 10,000 cycles/s = 20,000 commands/s against Paxos's commit_256 goal of 20,000 (>= 0.5 cycles per commit); 1.0 = the lock service costs nothing beyond its group" });
        sayVerdict('256 clients', cycles256.perSec, 10_000, (2 * cycles256.perSec) / commit256, 1.0);
      }
      if (PARTS.has('cached')) add({ name: 'cached_read_per_s', value: await cachedReads(solo), unit: 'read/s', goal: '>= 1,000,000' });
      if (PARTS.has('sessions')) {
        const held = planCell(HELD_CELL);
        for (const s of held.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
        const h = await sessionsHeld(system, held, await client('held-prober', held));
        add({ name: 'sessions_held', value: h.held, unit: 'session', goal: `>= 100,000, none expiring, for ${HOLD_MS / 1000} s (default timings: 12 s lease); ${h.ended} ended, ${h.lost} KeepAlives lost, ${h.masterChanges} master changes` });
        add({ name: 'acquire_p99_ms_under_sessions', value: h.acquireP99Ms, unit: 'ms', goal: `< 50 (${h.acquires} acquires while they were held)` });
        add({ name: 'memory_per_session_bytes', value: h.bytesPerSession, unit: 'B', goal: "measured: the process's RSS growth (master, replicas and the bench client) over the sessions" });
      }
      // Last: it kills the master's node.
      if (PARTS.has('failover')) add({ name: 'failover_ms', value: await failoverMs(system, plan, solo), unit: 'ms', goal: '<= 3,000 (2 s lease)' });
    } finally {
      await system.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
    return figures;
  },
};

/** A client of the cell's group (no lock-service session): its commands go straight to the proposers. */
function groupClient(system: ActorSystem, plan: CellPlan, clientId: string): PaxosClient<ReturnType<typeof cellMachine>> {
  return new PaxosClient({
    clientId,
    machine: cellMachine(BENCH_CELL.db),
    proposers: plan.paxos.proposers,
    ask: (ref, m, timeoutMs) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    timeoutMs: 5_000,
  });
}

/** One command the database refuses (no state grows): a commit that changes nothing. */
async function refusedCommit(paxos: PaxosClient<ReturnType<typeof cellMachine>>): Promise<void> {
  try {
    await paxos.propose({ type: 'release', session: 0, handle: 0 });
  } catch (err) {
    if (!(err instanceof PaxosDomainError)) throw err;
  }
}

/** Commands through the cell's group from `clients` clients at once, each one at a time; with the cell's counts per command. */
async function commitsInFlight(system: ActorSystem, plan: CellPlan, clients: number): Promise<{ perSec: number; counts: PerOp }> {
  const all = Array.from({ length: clients }, (_, i) => groupClient(system, plan, `bench-baseline-${clients}-${i}`));
  let commits = 0;
  const commit = async (i: number): Promise<void> => {
    await refusedCommit(all[i]!);
    commits++;
  };
  await closedLoopRate(clients, commit, WARM_UP_MS);
  const before = await cellCounts(system, plan, commits);
  const perSec = await closedLoopRate(clients, commit, SPAN_MS);
  return { perSec, counts: perOp(before, await cellCounts(system, plan, commits)) };
}

/** Commands through the cell's group one at a time. */
async function commitOneAtATime(system: ActorSystem, plan: CellPlan): Promise<{ perSec: number; counts: PerOp }> {
  const paxos = groupClient(system, plan, 'bench-baseline');
  let commits = 0;
  const one = async (): Promise<void> => {
    commits++;
    await refusedCommit(paxos);
  };
  await rate(WARM_UP_MS, one);
  const before = await cellCounts(system, plan, commits);
  const perSec = median(await windows(3, () => rate(SPAN_MS / 3, one)));
  return { perSec, counts: perOp(before, await cellCounts(system, plan, commits)) };
}

/**
 * What the cell's nodes did: Paxos slots chosen, synced commits, messages taken in, the event-loop
 * busy time and the CPU time of the master's thread and of every cell node's thread, and the CPU
 * time of the whole process (the clients' main thread, every worker, LMDB's and libuv's threads).
 */
interface CellCounts {
  ops: number;
  slots: number;
  syncs: number;
  messages: number;
  masterBusyMs: number;
  masterCpuMs: number;
  nodesCpuMs: number;
  processCpuMs: number;
}
type PerOp = { slots: number; syncs: number; messages: number; masterBusyUs: number; masterCpuUs: number; nodesCpuUs: number; processCpuUs: number };

/** The counts now, with `ops`, the operations the caller made so far. */
async function cellCounts(system: ActorSystem, plan: CellPlan, ops: number): Promise<CellCounts> {
  const stats = await Promise.all(plan.config.nodes.map((n) => system.stats(n)));
  const status = await Promise.all(plan.paxos.proposers.map((p) => system.ask(p, { type: 'status' })));
  const master = (await system.ask(plan.servers[0]!, { type: 'whoIsMaster' })).master;
  const busy = new Map(await Promise.all(plan.config.nodes.map(async (n) => [n, await system.ask(await busyProbe(system, n), { type: 'busy' })] as const)));
  const atMaster = master === null ? undefined : busy.get(master.node);
  const cpu = process.cpuUsage();
  return {
    masterBusyMs: atMaster?.activeMs ?? 0,
    masterCpuMs: atMaster?.cpuMs ?? 0,
    nodesCpuMs: [...busy.values()].reduce((sum, b) => sum + b.cpuMs, 0),
    processCpuMs: (cpu.user + cpu.system) / 1000,
    ops,
    slots: Math.max(...status.map((s) => s.commitIndex)),
    syncs: stats.reduce((n, s) => n + s.storage.commits, 0),
    messages: stats.reduce((n, s) => n + s.messagesIn, 0),
  };
}

/** Counts per operation between two readings. */
function perOp(a: CellCounts, b: CellCounts): PerOp {
  const ops = Math.max(1, b.ops - a.ops);
  const us = (key: 'masterBusyMs' | 'masterCpuMs' | 'nodesCpuMs' | 'processCpuMs'): number => ((b[key] - a[key]) * 1000) / ops;
  return {
    slots: (b.slots - a.slots) / ops,
    syncs: (b.syncs - a.syncs) / ops,
    messages: (b.messages - a.messages) / ops,
    masterBusyUs: us('masterBusyMs'),
    masterCpuUs: us('masterCpuMs'),
    nodesCpuUs: us('nodesCpuMs'),
    processCpuUs: us('processCpuMs'),
  };
}

const probes = new Map<string, Promise<ActorRef<ThreadBusyMsg>>>();
/** The busy-time probe on a worker node (spawned once). */
function busyProbe(system: ActorSystem, node: string): Promise<ActorRef<ThreadBusyMsg>> {
  let probe = probes.get(node);
  if (!probe) probes.set(node, (probe = system.spawn(ThreadBusy, {}, { node, name: `busy-${node}` })));
  return probe;
}

function addCycles(add: (f: Figure) => void, name: string, r: { perSec: number; counts: PerOp }, goal: string): void {
  add({ name: `lock_cycle_${name}_per_s`, value: r.perSec, unit: 'cycle/s', goal });
  add({ name: `lock_cycle_${name}_commands_per_slot`, value: 2 / r.counts.slots, unit: 'command', goal: 'counted: the acquire and the release share slots with other clients\' commands' });
  add({ name: `lock_cycle_${name}_syncs_per_cycle`, value: r.counts.syncs, unit: 'sync', goal: "counted: synced writes on the cell's nodes" });
  add({ name: `lock_cycle_${name}_messages_per_cycle`, value: r.counts.messages, unit: 'message', goal: "counted: messages the cell's nodes took in" });
  addCpu(add, `lock_cycle_${name}`, 'cycle', r.counts);
}

/** The master's busy and CPU time, the cell nodes' and the process's, per operation (a `per`). */
function addCpu(add: (f: Figure) => void, prefix: string, per: string, c: PerOp): void {
  add({ name: `${prefix}_master_busy_us_per_${per}`, value: c.masterBusyUs, unit: 'us', goal: `measured: the master's thread busy (event-loop active) per ${per}` });
  add({ name: `${prefix}_master_cpu_us_per_${per}`, value: c.masterCpuUs, unit: 'us', goal: `measured: the master's thread on a CPU per ${per} (its schedstat; busy above also counts waiting for a core)` });
  add({ name: `${prefix}_nodes_cpu_us_per_${per}`, value: c.nodesCpuUs, unit: 'us', goal: `measured: the 5 cell nodes' threads on a CPU, summed, per ${per}` });
  add({ name: `${prefix}_process_cpu_us_per_${per}`, value: c.processCpuUs, unit: 'us', goal: `measured: CPU time of the whole process (clients, workers, LMDB) per ${per}` });
}

/** Each client acquires and releases its own lock, back to back; with the cell's counts per cycle. */
async function lockCycles(system: ActorSystem, plan: CellPlan, clients: LsClient[], prefix: string): Promise<{ perSec: number; counts: PerOp }> {
  const handles = await Promise.all(clients.map(async (c, i) => (await c.open(`/ls/bench/${prefix}-${i}`, { create: 'ifAbsent' })).handle));
  let cycles = 0;
  const cycle = async (i: number): Promise<void> => {
    await clients[i]!.tryAcquire(handles[i]!, 'exclusive');
    await clients[i]!.release(handles[i]!);
    cycles++;
  };
  await closedLoopRate(clients.length, cycle, WARM_UP_MS);
  const before = await cellCounts(system, plan, cycles);
  const perSec = await closedLoopRate(clients.length, cycle, SPAN_MS);
  return { perSec, counts: perOp(before, await cellCounts(system, plan, cycles)) };
}

/**
 * HELD_SESSIONS sessions opened at one master and kept alive by a multiplexing client for HOLD_MS,
 * while one more client acquires and releases a lock, timing each acquire.
 */
async function sessionsHeld(system: ActorSystem, plan: CellPlan, prober: LsClient) {
  const { handle } = await prober.open('/ls/held/probe', { create: 'ifAbsent' });
  const rssBefore = process.memoryUsage().rss;
  const herd = await system.spawn(SessionHerd, { servers: plan.servers, leaseMs: plan.config.timing.leaseMs, openWindow: 256 }, { name: 'herd' });
  const opened = await system.ask(herd, { type: 'open', count: HELD_SESSIONS }, { timeoutMs: 600_000 });
  const bytesPerSession = (process.memoryUsage().rss - rssBefore) / opened.opened;
  const latencies: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < HOLD_MS) {
    const t = performance.now();
    await prober.acquire(handle, 'exclusive', 10_000);
    latencies.push(performance.now() - t);
    await prober.release(handle);
    await new Promise((r) => setTimeout(r, 20));
  }
  const counts = await system.ask(herd, { type: 'stop' });
  latencies.sort((a, b) => a - b);
  return { held: counts.opened - counts.ended, ended: counts.ended, lost: counts.lost, masterChanges: counts.masterChanges, acquireP99Ms: percentile(latencies, 99), acquires: latencies.length, bytesPerSession };
}

/** Cached reads the loop makes between two turns of the event loop. */
const READS_PER_TURN = 1_000;

/**
 * Repeated reads of a cached file. A cached read resolves without a message, so a loop of them
 * never lets the thread's event loop turn: the session's KeepAlive answers would wait, its local
 * lease would run out (2 s here), and the cache would rightly stop serving. The loop lets the event
 * loop turn every READS_PER_TURN reads, as any application does; a miss then is a cache bug.
 */
async function cachedReads(c: LsClient): Promise<number> {
  const { handle } = await c.open('/ls/bench/cached', { create: 'ifAbsent' });
  await c.setContents(handle, new TextEncoder().encode('cached'));
  let n = 0;
  return rate(SPAN_MS, async () => {
    if (!(await c.getContentsAndStat(handle)).cached) throw new Error('a read missed the cache');
    if (++n % READS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
  });
}

/** The master's thread killed, to the first write through a client that succeeds. */
async function failoverMs(system: ActorSystem, plan: CellPlan, c: LsClient): Promise<number> {
  const { handle } = await c.open('/ls/bench/failover', { create: 'ifAbsent' });
  await c.setContents(handle, new TextEncoder().encode('before'));
  const master = (await system.ask(plan.servers[0]!, { type: 'whoIsMaster' })).master;
  if (!master) throw new Error('no master');
  await system.killNode(master.node);
  const t0 = performance.now();
  for (;;) {
    try {
      await c.setContents(handle, new TextEncoder().encode('after'));
      return performance.now() - t0;
    } catch (err) {
      if (!(err instanceof LsClientError) || err.code !== 'UNAVAILABLE') throw err;
    }
  }
}

async function rate(spanMs: number, op: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < spanMs) {
    await op();
    n++;
  }
  return (n / (performance.now() - t0)) * 1000;
}

async function windows(n: number, measure: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await measure());
  return out;
}
