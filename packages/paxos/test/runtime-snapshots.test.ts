import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem } from '@actorfs/actors';
import { KV_MACHINE, type AcceptorView, PaxosClient, planGroup, type GroupPlan, type LearnerDigest, type ProposeReply, type ProposerStatus } from '@actorfs/paxos';

/**
 * Snapshots in pieces in the real runtime: three worker threads with LMDB, a 1 MiB message limit
 * and a state several times that, a learner's thread ended before the writes and started again
 * after the others compacted their logs behind snapshots.
 */

const NODES = ['s1', 's2', 's3'];
const KIB = 1024;
const MIB = 1024 * KIB;
const TIMING = { leaseMs: 400, snapshotEvery: 5, leaderLogSize: 2, maxReplyBytes: 512 * KIB, maxBatchBytes: 128 * KIB, maxInflightBytes: 512 * KIB };

let dataDir: string;
let system: ActorSystem;
let plan: GroupPlan;

async function spawnNode(node: string): Promise<void> {
  await plan.spawnOn(system, node);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'paxos-runtime-snapshots-'));
  system = await ActorSystem.start({ workers: NODES, dataDir, maxMessageBytes: MIB, modules: [new URL('./fixtures/runtime-kinds.ts', import.meta.url)] });
  plan = planGroup({ acceptors: NODES, proposers: NODES, learners: NODES, machine: KV_MACHINE, timing: TIMING });
  for (const node of NODES) await spawnNode(node);
}, 60_000);

afterAll(async () => {
  await system?.shutdown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function digest(node: string): Promise<LearnerDigest | undefined> {
  const learner = plan.learners.find((l) => l.node === node)!;
  return system.ask(learner, { type: 'digest' }, { timeoutMs: 5_000 }).catch(() => undefined);
}

/**
 * Snapshots reach the leader, which truncates the acceptors behind them: wait until the live ones
 * have cut their logs. An acceptor's view lists every slot it holds, so while its log is long the
 * view is over the message limit and refused (oversize): that too means not cut yet.
 */
async function untilAcceptorsTruncated(acceptors: GroupPlan['acceptors']): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const views = await Promise.all(acceptors.map((a) => (system.ask(a, { type: 'inspect' }, { timeoutMs: 5_000 }) as Promise<AcceptorView>).catch(() => undefined)));
    if (views.every((v) => v !== undefined && v.truncatedBefore > 1)) return;
    await pause(50);
  }
  throw new Error('the acceptors never truncated their logs behind a snapshot');
}

describe('snapshots in pieces (worker threads, LMDB)', () => {
  it('a restarted learner catches up from a peer snapshot several times the message limit, and restores it from LMDB', async () => {
    for (let i = 0; i < 200; i++) {
      const s = await Promise.all(plan.proposers.map((p) => system.ask(p, { type: 'status' }, { timeoutMs: 1_000 }).catch(() => undefined)));
      if (s.some((x: ProposerStatus | undefined) => x?.role === 'leader' && x.leaseValid)) break;
      await pause(50);
    }
    const lagging = 's3';
    await system.killNode(lagging);
    const client = new PaxosClient({
      clientId: 'fill',
      machine: KV_MACHINE,
      proposers: plan.proposers.filter((p) => p.node !== lagging),
      ask: (ref, m, timeoutMs) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
      sleep: pause,
      timeoutMs: 5_000,
    });
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => client.propose({ op: 'put', key: `k${i}`, value: String(i % 10).repeat(4 * KIB) })));
    await untilAcceptorsTruncated(plan.acceptors.filter((a) => a.node !== lagging));

    await system.startNode(lagging);
    await spawnNode(lagging);
    const want = (await digest('s1'))!;
    let got: LearnerDigest | undefined;
    for (let i = 0; i < 300 && !(got && got.applied >= want.applied); i++) {
      await pause(100);
      got = await digest(lagging);
    }
    expect(got?.applied).toBeGreaterThanOrEqual(want.applied);
    expect(got!.snapshotIndex).toBeGreaterThan(0);
    const now = (await digest('s1'))!;
    const mine = (await digest(lagging))!;
    expect(mine.bytes).toBeGreaterThan(3 * MIB);
    if (mine.applied === now.applied) expect(mine.hash).toBe(now.hash);

    // Ended and started again: its snapshot comes back from its own LMDB, in pieces.
    await system.killNode(lagging);
    await system.startNode(lagging);
    await spawnNode(lagging);
    const restored = (await digest(lagging))!;
    expect(restored.snapshotIndex).toBeGreaterThan(0);
    expect(restored.applied).toBeGreaterThanOrEqual(restored.snapshotIndex);
    expect(restored.bytes).toBeGreaterThan(3 * MIB);
  }, 120_000);
});
