import { describe, expect, it } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import type { ProposeReply } from '../src/index.ts';
import { command, leaderOf, openSession, simGroup } from './harness.ts';

describe("a slot's clients are answered by the learner beside the thrifty majority's remote acceptor", () => {
  it('a commit takes three network hops and one sync (client -> leader -> remote acceptor -> client), not four', async () => {
    // Every hop and every sync takes 1 ms of virtual time, so a commit's time counts them.
    const sim = new SimCluster({ seed: 2, network: { delayMs: [1, 1] }, fsyncMs: [1, 1] });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: 400 });
    const leader = await leaderOf(sim, plan, 400);
    const s = await openSession(sim, leader);
    await sim.runFor(400); // every learner has told the leader how far it is
    for (let seq = 1; seq <= 5; seq++) {
      const t0 = sim.now();
      const r: ProposeReply = await sim.call(leader, command(s, seq, { op: 'put', key: 'k', value: seq }));
      expect(r.ok).toBe(true);
      expect(sim.now() - t0).toBe(4);
    }
  });
});
