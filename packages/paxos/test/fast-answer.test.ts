import { describe, expect, it } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import type { ProposeReply } from '../src/index.ts';
import { command, leaderOf, openSession, simGroup } from './harness.ts';

// The clients of a slot are answered by the learner beside the acceptor of its majority that syncs
// last, as soon as that acceptor's accept is durable and it has been told the rest of the majority
// accepted too: one network hop fewer than an answer through the leader.

const LEASE_MS = 100;
const HOP_MS = 1;
const FSYNC_MS = 2;

async function group(seed: number): Promise<{ sim: SimCluster; put: (seq: number) => Promise<{ reply: ProposeReply; ms: number }>; leaderNode: string }> {
  const sim = new SimCluster({ seed, network: { delayMs: [HOP_MS, HOP_MS] }, fsyncMs: [FSYNC_MS, FSYNC_MS] });
  const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS });
  const leader = await leaderOf(sim, plan, LEASE_MS);
  const session = await openSession(sim, leader);
  await sim.runFor(LEASE_MS); // the leader hears from every learner
  const put = async (seq: number): Promise<{ reply: ProposeReply; ms: number }> => {
    const t0 = sim.now();
    const reply: ProposeReply = await sim.call(leader, command(session, seq, { op: 'put', key: 'k', value: seq }));
    return { reply, ms: sim.now() - t0 };
  };
  return { sim, put, leaderNode: leader.node };
}

describe('fast answers (simulator)', () => {
  it('a command is answered three hops and a sync after it is sent: client to leader, leader to acceptor, that acceptor\'s learner to client', async () => {
    const { put } = await group(1);
    for (let seq = 1; seq <= 20; seq++) {
      const { reply, ms } = await put(seq);
      expect(reply).toEqual({ ok: true, result: seq === 1 ? null : seq - 1 });
      // The other acceptor's accept, a hop after the leader's own, is durable as the notice that the
      // leader's is arrives. Through the leader the answer would take a hop more.
      expect(ms).toBe(3 * HOP_MS + FSYNC_MS);
    }
  });

  it('with the answerer\'s node down, commands are still answered on their first try, through the leader', async () => {
    const { sim, put, leaderNode } = await group(2);
    const others = ['n0', 'n1', 'n2'].filter((n) => n !== leaderNode);
    // Down before the leader notices: it still names an acceptor there as the answerer at first.
    for (const n of others) {
      sim.crash(n);
      for (let seq = 1; seq <= 5; seq++) expect((await put(seq + (n === others[0] ? 0 : 10))).reply).toMatchObject({ ok: true });
      sim.restart(n);
      await sim.runFor(LEASE_MS);
    }
  });
});
