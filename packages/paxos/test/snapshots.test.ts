import { describe, expect, it } from '@jest/globals';
import { SimCluster, type SimSend } from '@actorfs/actors/testing';
import { KV_MACHINE, PaxosClient, planGroup, type GroupPlan, type ProposeReply, type ProposerStatus } from '../src/index.ts';
import { bootSpecs, simGroup } from './harness.ts';

const LEASE_MS = 100;
const KIB = 1024;
const MIB = 1024 * KIB;

async function waitForLeader(sim: SimCluster, plan: GroupPlan): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s: ProposerStatus[] = await Promise.all(plan.proposers.filter((p) => sim.isUp(p.node)).map((p) => sim.call(p, { type: 'status' })));
    if (s.some((x) => x.role === 'leader' && x.leaseValid)) return;
    await sim.runFor(LEASE_MS / 10);
  }
  throw new Error(`no leader (seed ${sim.seed})`);
}

/** Puts `count` keys of `bytes` each through one pipelined client. */
async function fill(sim: SimCluster, plan: GroupPlan, count: number, bytes: number): Promise<void> {
  const client = new PaxosClient({
    clientId: 'fill',
    machine: KV_MACHINE,
    proposers: plan.proposers,
    ask: (ref, m, timeoutMs) => sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => sim.runFor(ms),
  });
  let done = 0;
  for (let i = 0; i < count; i++) void client.propose({ op: 'put', key: `k${i}`, value: String(i % 10).repeat(bytes) }).then(() => done++);
  if (!(await sim.runUntil(() => done === count, { maxMs: 60_000 }))) throw new Error(`only ${done} of ${count} puts done`);
}

describe('snapshots in pieces (simulator)', () => {
  it('a learner far behind catches up from a peer snapshot many times the message limit, streamed in pieces, and restores it from storage after a restart', async () => {
    // Pieces travel as the bytes they are stored as (never decoded and encoded again on the way).
    const chunks: unknown[][] = [];
    const onSend = (s: SimSend): void => void ((s.body as { type?: string }).type === 'snapshot-chunk' && chunks.push((s.body as { pieces: unknown[] }).pieces));
    const sim = new SimCluster({ seed: 51, network: { delayMs: [1, 3] }, maxMessageBytes: MIB, onSend });
    const timing = { leaseMs: LEASE_MS, snapshotEvery: 20, leaderLogSize: 10, maxReplyBytes: 512 * KIB, maxBatchBytes: 128 * KIB, maxInflightBytes: 512 * KIB };
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, timing);
    await waitForLeader(sim, plan);
    const lagging = plan.learners[2]!;
    sim.crash(lagging.node);
    await fill(sim, plan, 1_500, 4 * KIB); // about 6 MiB of state
    await sim.runFor(3 * LEASE_MS); // snapshots reach the leader, which truncates the acceptors behind them
    const acceptor = await sim.call(plan.acceptors[0]!, { type: 'inspect' });
    expect(acceptor.truncatedBefore).toBeGreaterThan(1);

    sim.restart(lagging.node);
    const target = (await sim.call(plan.learners[0]!, { type: 'status' })).applied;
    let applied = 0;
    for (let i = 0; i < 200 && applied < target; i++) {
      await sim.runFor(LEASE_MS);
      applied = (await sim.call(lagging, { type: 'status' })).applied;
    }
    expect(applied).toBeGreaterThanOrEqual(target);
    const caughtUp = await sim.call(lagging, { type: 'digest' });
    const peer = await sim.call(plan.learners[0]!, { type: 'digest' });
    expect(caughtUp.bytes).toBeGreaterThan(5 * MIB);
    expect(caughtUp.hash).toBe(peer.hash);
    expect(caughtUp.snapshotIndex).toBeGreaterThan(0);
    expect(chunks.length).toBeGreaterThan(6); // a reply's worth (512 KiB) at a time
    for (const pieces of chunks) for (const p of pieces) expect(p).toBeInstanceOf(Uint8Array);
    // Nothing was too big for the transport.
    for (const n of sim.nodeNames()) expect(sim.node(n).stats().deadLetters.byReason.oversize ?? 0).toBe(0);

    // Restarted with the network cut, it has only its own storage: the snapshot's pieces.
    sim.crash(lagging.node);
    sim.restart(lagging.node);
    sim.isolate(lagging.node);
    const restored = await sim.call(lagging, { type: 'digest' });
    expect(restored.applied).toBe(restored.snapshotIndex);
    expect(restored.snapshotIndex).toBeGreaterThan(1_000);
    expect(restored.bytes).toBeGreaterThan(5 * MIB);
  }, 120_000);
});

describe('phase 1 in pieces (simulator)', () => {
  it('a new leader gathers promises many times the message limit in pieces, and leads', async () => {
    const sim = new SimCluster({ seed: 52, network: { delayMs: [1, 3] }, maxMessageBytes: 256 * KIB });
    const timing = { leaseMs: LEASE_MS, snapshotEvery: 1e9, maxReplyBytes: 64 * KIB, maxBatchBytes: 64 * KIB, maxInflightBytes: 128 * KIB };
    // Proposers on nodes of their own: restarted, they know no commit index, so phase 1 covers every slot.
    const plan = planGroup({ acceptors: ['a0', 'a1', 'a2'], proposers: ['p0', 'p1'], learners: ['l0', 'l1', 'l2'], machine: KV_MACHINE, timing });
    for (const n of ['a0', 'a1', 'a2', 'p0', 'p1', 'l0', 'l1', 'l2']) sim.addNode(n, { boot: (node) => bootSpecs(node, plan, n) });
    await waitForLeader(sim, plan);
    await fill(sim, plan, 400, 2 * KIB); // about 800 KiB of accepted slots on every acceptor
    for (const p of ['p0', 'p1']) sim.crash(p);
    for (const p of ['p0', 'p1']) sim.restart(p);
    await waitForLeader(sim, plan);
    const leader = plan.proposers.find((p) => p.node === 'p0' || p.node === 'p1')!;
    const status: ProposerStatus = await sim.call(leader, { type: 'status' });
    const other: ProposerStatus = await sim.call(plan.proposers.find((p) => !p.equals(leader))!, { type: 'status' });
    expect(Math.max(status.commitIndex, other.commitIndex)).toBeGreaterThan(10);
    for (const n of sim.nodeNames()) expect(sim.node(n).stats().deadLetters.byReason.oversize ?? 0).toBe(0);
  }, 60_000);
});
