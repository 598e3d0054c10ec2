import { describe, expect, it } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { KV_MACHINE, planGroup, type GroupPlan, type TraceStage, type TraceStamp } from '../src/index.ts';
import { bootSpecs, command, leaderOf, openSession } from './harness.ts';

// A group planned with `trace` stamps each slot's way (the bench's commit_1 breakdown reads them);
// one planned without keeps nothing.

const LEASE_MS = 100;
const NODES = ['n0', 'n1', 'n2'];

function group(sim: SimCluster, trace: boolean): GroupPlan {
  const plan = planGroup({ acceptors: NODES, proposers: NODES, learners: NODES, machine: KV_MACHINE, timing: { leaseMs: LEASE_MS, thrifty: false }, trace });
  for (const n of NODES) sim.addNode(n, { boot: (node) => bootSpecs(node, plan, n) });
  return plan;
}

async function stamps(sim: SimCluster, plan: GroupPlan): Promise<TraceStamp[]> {
  const all = await Promise.all([...plan.proposers.map((r) => sim.call(r, { type: 'trace' })), ...plan.acceptors.map((r) => sim.call(r, { type: 'trace' })), ...plan.learners.map((r) => sim.call(r, { type: 'trace' }))]);
  return all.flat();
}

/** The stages in their order along a commit. */
const ALONG: TraceStage[] = ['leader-received', 'accept-sent', 'acceptor-received', 'acceptor-synced', 'accepted-received', 'commit-sent', 'learner-received', 'learner-answered'];

describe('slot traces', () => {
  it("a traced group stamps a command's slot at each stage, in order along the commit, and hands the stamps over once", async () => {
    const sim = new SimCluster({ seed: 11, network: { delayMs: [1, 3] } });
    const plan = group(sim, true);
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const session = await openSession(sim, leader);
    await stamps(sim, plan); // what came before: elections, the open
    expect(await sim.call(leader, command(session, 1, { op: 'put', key: 'k', value: 1 }))).toEqual(expect.objectContaining({ ok: true }));
    const mine = await stamps(sim, plan);
    const slot = mine.find((s) => s.stage === 'leader-received' && s.cmd === `${session}/1`)!.slot;
    const of = mine.filter((s) => s.slot === slot);
    // Every acceptor got the Accept (thrifty off) and synced it; the leader heard each (a late one may come after the answer).
    for (const stage of ['acceptor-received', 'acceptor-synced'] as const) expect(of.filter((s) => s.stage === stage).map((s) => s.acceptor).sort()).toEqual([0, 1, 2]);
    expect(of.filter((s) => s.stage === 'accepted-received').length).toBeGreaterThanOrEqual(2);
    const first = (stage: TraceStage): number => Math.min(...of.filter((s) => s.stage === stage).map((s) => s.at));
    const times = ALONG.map(first);
    expect(times.every(Number.isFinite)).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Handed over: a later ask has none of them again (only what came since, a late notice, say).
    const again = await stamps(sim, plan);
    expect(again.filter((a) => mine.some((m) => JSON.stringify(m) === JSON.stringify(a)))).toEqual([]);
  });

  it('a group planned without trace keeps no stamps', async () => {
    const sim = new SimCluster({ seed: 12, network: { delayMs: [1, 3] } });
    const plan = group(sim, false);
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const session = await openSession(sim, leader);
    await sim.call(leader, command(session, 1, { op: 'put', key: 'k', value: 1 }));
    expect(await stamps(sim, plan)).toEqual([]);
  });
});
