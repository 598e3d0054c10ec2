import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ActorSystem } from '@actorfs/actors';
import { PaxosClient, PaxosDomainError, type ProposeReply } from '@actorfs/paxos';
import { cellMachine, ClientSession, LsClient, LsClientError, planCell, type CellPlan, type ClientMsg } from '@actorfs/lockservice';
import { closedLoopRate, collector, median, type Suite } from '../suite.ts';
import { BENCH_CELL } from './lockservice-cell.ts';

/** Each measured span. */
const SPAN_MS = Number(process.env.LS_BENCH_SPAN_MS ?? 3_000);

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
      const client = async (name: string): Promise<LsClient> => {
        const ref = await system.spawn(ClientSession, { config: BENCH_CELL, servers: plan.servers, principal: 'bench' }, { name });
        return new LsClient(ref, (r, msg) => system.ask(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: 60_000 }));
      };
      const commit1 = await commitOneAtATime(system, plan);
      add({ name: 'commit_1_in_flight_per_s', value: commit1, unit: 'commit/s', goal: "baseline: the cell's own group, one command at a time" });
      const solo = await client('solo');
      const seq = await lockCycles([solo], 'seq');
      add({ name: 'lock_cycle_sequential_per_s', value: seq, unit: 'cycle/s', goal: '>= 350 (etcd 3.4: 108)' });
      add({ name: 'lock_cycle_sequential_vs_commit_1', value: seq / commit1, unit: 'ratio', goal: '>= 0.4' });
      const sixteen = await Promise.all(Array.from({ length: 16 }, (_, i) => client(`c16-${i}`)));
      add({ name: 'lock_cycle_16_clients_per_s', value: await lockCycles(sixteen, 'l16'), unit: 'cycle/s', goal: '>= 3,000 (etcd: 362)' });
      add({ name: 'cached_read_per_s', value: await cachedReads(solo), unit: 'read/s', goal: '>= 1,000,000' });
      add({ name: 'failover_ms', value: await failoverMs(system, plan, solo), unit: 'ms', goal: '<= 3,000 (2 s lease)' });
    } finally {
      await system.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
    return figures;
  },
};

/** Commands through the cell's group one at a time (each a one-slot commit the database refuses: no state grows). */
async function commitOneAtATime(system: ActorSystem, plan: CellPlan): Promise<number> {
  const paxos = new PaxosClient({
    clientId: 'bench-baseline',
    machine: cellMachine(BENCH_CELL.db),
    proposers: plan.paxos.proposers,
    ask: (ref, m, timeoutMs) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    timeoutMs: 5_000,
  });
  const one = async (): Promise<void> => {
    try {
      await paxos.propose({ type: 'release', session: 0, handle: 0 });
    } catch (err) {
      if (!(err instanceof PaxosDomainError)) throw err;
    }
  };
  return median(await windows(3, () => rate(SPAN_MS / 3, one)));
}

/** Each client acquires and releases its own lock, back to back. */
async function lockCycles(clients: LsClient[], prefix: string): Promise<number> {
  const handles = await Promise.all(clients.map(async (c, i) => (await c.open(`/ls/bench/${prefix}-${i}`, { create: 'ifAbsent' })).handle));
  return closedLoopRate(
    clients.length,
    async (i) => {
      await clients[i]!.tryAcquire(handles[i]!, 'exclusive');
      await clients[i]!.release(handles[i]!);
    },
    SPAN_MS,
  );
}

async function cachedReads(c: LsClient): Promise<number> {
  const { handle } = await c.open('/ls/bench/cached', { create: 'ifAbsent' });
  await c.setContents(handle, new TextEncoder().encode('cached'));
  return rate(SPAN_MS, async () => {
    if (!(await c.getContentsAndStat(handle)).cached) throw new Error('a read missed the cache');
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
