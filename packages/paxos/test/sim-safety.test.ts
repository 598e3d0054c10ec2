import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { checkOperations, forEachSeed, SimCluster, withSeed } from '@actorfs/actors/testing';
import { KvClient, type HistoryEntry } from './fixtures/kv-client.ts';
import { assertConsistentLogs, ChosenOracle, kv, learnerViews, simGroup, toOperations } from './harness.ts';

/**
 * One randomized run: a group of 3, 5 or 7 acceptors under drops, duplicates, reordering,
 * partitions, crash-restarts and drifting clocks while clients write and read; then the faults heal.
 */
async function chaosRun(seed: number): Promise<{ ops: number; slots: number }> {
  const rnd = seededRandom(seed ^ 0x5eed);
  const acceptors = [3, 5, 7][Math.floor(rnd() * 3)]!;
  // Short leases against long delays make elections, duels and stale leaders common.
  const LEASE_MS = [30, 100, 300][Math.floor(rnd() * 3)]!;
  const oracle = new ChosenOracle();
  const sim = new SimCluster({
    seed,
    onSend: oracle.onSend,
    network: { drop: rnd() * 0.05, duplicate: rnd() * 0.05, delayMs: [1, 1 + Math.floor(rnd() * 20)], reorder: true },
    // Clock rates within 1 ± 4%, inside what the default drift margin (a tenth of the lease) covers.
    clocks: { maxRate: rnd() * 0.04, maxOffsetMs: LEASE_MS, changeEveryMs: LEASE_MS },
  });
  // Half the seeds run one slot in flight with a batching linger (as a lock cell does); drawn apart
  // from rnd so the other seeds take the paths they took before it.
  const slots = seededRandom(seed ^ 0x11e6)() < 0.5 ? { maxInflightSlots: 1, batchLingerMs: 8 } : { maxInflightSlots: 8 };
  const { plan, nodes } = simGroup(
    sim,
    { acceptors, proposers: 2 + Math.floor(rnd() * 2), learners: 3 },
    { leaseMs: LEASE_MS, snapshotEvery: rnd() < 0.3 ? 10 : 1000, maxBatch: 4, ...slots },
  );
  sim.addNode('clients');
  const clients = Array.from({ length: 3 }, (_, i) => sim.spawn('clients', KvClient, { id: `c${i}` }));
  const histories: HistoryEntry[][] = [];
  for (const c of clients) {
    void sim
      .ask(c, { type: 'run', proposers: plan.proposers, ops: 12, keys: ['x', 'y'], timeoutMs: 200, maxAttempts: 200, maxBackoffMs: LEASE_MS }, { timeoutMs: 10_000_000 })
      .then((h) => histories.push(h));
  }
  // Faults for a while: at most a minority of acceptors down or cut off at any time.
  const down = new Set<string>();
  for (let step = 0; step < 8; step++) {
    await sim.runFor(100 + rnd() * 400);
    const victim = nodes[Math.floor(rnd() * nodes.length)]!;
    const r = rnd();
    if (r < 0.3 && down.size < Math.floor((acceptors - 1) / 2) && !down.has(victim)) {
      sim.crash(victim);
      down.add(victim);
    } else if (r < 0.5 && down.size > 0) {
      const back = [...down][0]!;
      sim.restart(back);
      down.delete(back);
    } else if (r < 0.75) {
      sim.isolate(victim);
    } else {
      sim.heal();
    }
  }
  oracle.check();
  // Heal everything; every command must then commit within a bounded virtual time (clients back
  // off at most a lease term, so the bound measures the protocol, not a client asleep).
  sim.heal();
  for (const n of down) sim.restart(n);
  sim.setNetwork({ delayMs: [1, 5] });
  const healedAt = sim.now();
  const done = await sim.runUntil(() => histories.length === clients.length, { maxMs: 60_000 });
  if (!done) throw new Error(`clients still waiting ${sim.now() - healedAt} ms after the faults healed`);

  // A fresh client after healing: each command commits within a few lease terms.
  sim.addNode('late');
  for (let i = 0; i < 3; i++) {
    const client = sim.spawn('late', KvClient, { id: `late-${i}` });
    const started = sim.now();
    const h = await sim.call(client, { type: 'run', proposers: plan.proposers, ops: 1, keys: ['z'], timeoutMs: 200, maxAttempts: 100, maxBackoffMs: LEASE_MS }, { timeoutMs: 20 * LEASE_MS });
    if (!h[0]?.ok) throw new Error('a command proposed after the faults healed did not commit');
    if (sim.now() - started > 10 * LEASE_MS) throw new Error(`a command took ${sim.now() - started} ms to commit after healing`);
  }

  // Let lagging learners catch up, then check the logs and the client histories.
  await sim.runFor(5 * LEASE_MS);
  oracle.check();
  const views = await learnerViews(sim, plan);
  assertConsistentLogs(views);
  const applied = [...views.values()].map((v) => v.applied);
  if (new Set(applied).size !== 1) throw new Error(`learners did not converge after healing: applied ${applied.join(', ')}`);
  const result = checkOperations(kv, toOperations(histories), { maxSteps: 1_000_000 });
  if (result.ok === false) throw new Error(`client history is not linearizable: ${result.reason}`);
  if (result.ok !== true) throw new Error('linearizability check timed out');
  if (oracle.slots < applied[0]! - 1) throw new Error(`the oracle saw ${oracle.slots} chosen slots of ${applied[0]}: it is not watching`);
  return { ops: histories.flat().length, slots: applied[0]! };
}

describe('Multi-Paxos under simulated faults (drops, duplicates, reordering, partitions, crash-restarts)', () => {
  it('keeps one value per slot, prefix-consistent replicas, linearizable clients, and commits after healing', async () => {
    let ops = 0;
    const seeds = await forEachSeed(300, async (seed) => {
      const r = await chaosRun(seed);
      ops += r.ops;
    });
    expect(ops).toBeGreaterThan(seeds * 10);
  }, 1_200_000);

  // Seeds beyond the default range that found bugs in 3,000-seed runs (a changed protocol takes
  // other paths under the same seed, so these guard the fixes only loosely; SIM_SEEDS goes wider).
  it('stays live on the seeds that found holes: a chosen slot held only by acceptors (465), a client asleep past the bound (1732), accepts for compacted slots (471)', async () => {
    if (process.env.SIM_SEED) return; // replaying one seed: the test above runs it
    for (const seed of [465, 471, 1732]) await withSeed(seed, chaosRun);
  }, 120_000);
});
