import { describe, expect, it } from '@jest/globals';
import { forEachSeed, SimCluster, type ClockDriftOptions } from '@actorfs/actors/testing';
import type { GroupPlan, ProposerStatus } from '../src/index.ts';
import { simGroup } from './harness.ts';

// Leases under drifting clocks. A leader trusts its lease for leaseMs - driftMs on its own clock
// from when it sent the heartbeat; an acceptor holds it for leaseMs on its own clock from when the
// heartbeat arrived. That is safe while clock rates differ by less than the margin covers
// (driftMs = leaseMs / 10 covers rates within 1 ± 5%), and unsafe beyond it.

const LEASE_MS = 100;

/** Every running proposer's status, asked at once. */
async function statuses(sim: SimCluster, plan: GroupPlan): Promise<ProposerStatus[]> {
  const asks = plan.proposers.filter((p) => sim.isUp(p.node)).map((p) => sim.ask(p, { type: 'status' }, { timeoutMs: 50 }));
  let out: ProposerStatus[] | undefined;
  void Promise.all(asks).then((s) => (out = s), () => (out = []));
  await sim.runUntil(() => out !== undefined, { maxMs: 100 });
  return out ?? [];
}

/**
 * Cuts the lease holder off from the others, again and again, and counts the moments two
 * proposers both held a valid lease (by their own clocks) at the same true time.
 */
async function leaseOverlaps(seed: number, clocks: ClockDriftOptions): Promise<number> {
  const sim = new SimCluster({ seed, network: { delayMs: [1, 2] }, clocks });
  const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS });
  let overlaps = 0;
  for (let round = 0; round < 4; round++) {
    let holder: ProposerStatus | undefined;
    for (let i = 0; i < 200 && !holder; i++) {
      holder = (await statuses(sim, plan)).find((s) => s.role === 'leader' && s.leaseValid);
      if (!holder) await sim.runFor(LEASE_MS / 10);
    }
    if (!holder) throw new Error(`no leader (seed ${seed})`);
    sim.isolate(plan.proposers[holder.id]!.node);
    for (let waited = 0; waited < 6 * LEASE_MS; waited += LEASE_MS / 50) {
      const valid = (await statuses(sim, plan)).filter((s) => s.role === 'leader' && s.leaseValid);
      if (valid.length > 1) overlaps++;
      await sim.runFor(LEASE_MS / 50);
    }
    sim.heal();
  }
  return overlaps;
}

describe('leader leases under drifting clocks (simulator)', () => {
  it('no two proposers hold a valid lease at once while clock rates stay within the drift bound', async () => {
    let total = 0;
    await forEachSeed(10, async (seed) => {
      total += await leaseOverlaps(seed, { maxRate: 0.04, maxOffsetMs: 5 * LEASE_MS, changeEveryMs: LEASE_MS });
    });
    expect(total).toBe(0);
  }, 120_000);

  it('clocks beyond the bound break the lease, and the check above sees it', async () => {
    let total = 0;
    await forEachSeed(20, async (seed) => {
      total += await leaseOverlaps(seed, { maxRate: 0.9, maxOffsetMs: 1_000 * LEASE_MS, changeEveryMs: 100 * LEASE_MS });
    });
    expect(total).toBeGreaterThan(0);
  }, 120_000);
});
