import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { forEachSeed, SimCluster } from '@actorfs/actors/testing';
import { defineStateMachine, planGroup, type AcceptorView, type GroupPlan, type ProposeReply, type ProposerStatus } from '../src/index.ts';
import { bootSpecs, command, learnerViews, openSession, simGroup } from './harness.ts';

/** Adds numbers: a machine on which applying a command twice shows. */
const ADDER = defineStateMachine<{ add: number }, number, null, number>('test.adder', () => {
  let total = 0;
  return {
    apply: (op) => ({ ok: true, result: (total += op.add) }),
    query: () => total,
    snapshot: () => [total],
    restore: (pieces) => {
      total = ([...pieces][0] as number | undefined) ?? 0;
    },
  };
});

const LEASE_MS = 100;

/** Every running proposer's status, asked at once. */
async function statuses(sim: SimCluster, plan: GroupPlan): Promise<ProposerStatus[]> {
  const asks = plan.proposers.filter((p) => sim.isUp(p.node)).map((p) => sim.ask(p, { type: 'status' }, { timeoutMs: 50 }));
  let out: ProposerStatus[] | undefined;
  void Promise.all(asks).then((s) => (out = s));
  if (!(await sim.runUntil(() => out !== undefined, { maxMs: 100 }))) throw new Error('a proposer did not answer status');
  return out!;
}

async function waitForLeader(sim: SimCluster, plan: GroupPlan, not?: number): Promise<ProposerStatus> {
  for (let waited = 0; waited < 50 * LEASE_MS; waited += LEASE_MS / 10) {
    const leader = (await statuses(sim, plan)).find((s) => s.role === 'leader' && s.leaseValid && s.id !== not);
    if (leader) return leader;
    await sim.runFor(LEASE_MS / 10);
  }
  throw new Error(`no leader${not === undefined ? '' : ` other than ${not}`} emerged (seed ${sim.seed})`);
}

describe('Paxos claims, one scenario each (simulator)', () => {
  it('a retried command (same session and seq) is applied exactly once, and every retry gets the first result until acknowledged', async () => {
    const sim = new SimCluster({ seed: 11, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, ADDER);
    const leader = plan.proposers[(await waitForLeader(sim, plan)).id]!;
    const session = await openSession(sim, leader);
    const first = command(session, 1, { add: 5 });
    const replies: ProposeReply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await sim.call(leader, first));
    replies.push(await sim.call(leader, command(session, 2, { add: 1 }))); // acknowledges seq 1
    replies.push(await sim.call(leader, first)); // acknowledged since: a late copy
    expect(replies.slice(0, 4)).toEqual([
      { ok: true, result: 5 },
      { ok: true, result: 5 },
      { ok: true, result: 5 },
      { ok: true, result: 6 },
    ]);
    expect(replies[4]).toMatchObject({ ok: false, reason: expect.stringContaining('stale retry') });
    await sim.runFor(2 * LEASE_MS);
    const views = await learnerViews(sim, plan);
    expect(views.size).toBe(3);
    for (const v of views.values()) expect(v.state).toEqual([6]);
  });

  it('at most one proposer holds a valid lease at any time; a cut-off leader stops serving reads and the next waits out its lease', async () => {
    const sim = new SimCluster({ seed: 7, network: { delayMs: [1, 2] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS }, ADDER);
    const old = await waitForLeader(sim, plan);
    const oldRef = plan.proposers[old.id]!;
    const session = await openSession(sim, oldRef);
    expect(await sim.call(oldRef, command(session, 1, { add: 2 }))).toEqual({ ok: true, result: 2 });

    const cutAt = sim.now();
    sim.isolate(oldRef.node);
    let oldLastValid = cutAt;
    let next: ProposerStatus | undefined;
    let nextAt = 0;
    while (!next) {
      if (sim.now() - cutAt > 50 * LEASE_MS) throw new Error('no new leader after the old one was cut off');
      const round = await statuses(sim, plan);
      const holders = round.filter((s) => s.role === 'leader' && s.leaseValid);
      expect(holders.length).toBeLessThanOrEqual(1);
      if (holders[0]?.id === old.id) oldLastValid = sim.now();
      if (holders[0] && holders[0].id !== old.id) {
        next = holders[0];
        nextAt = sim.now();
      }
      await sim.runFor(LEASE_MS / 20);
    }
    // The new lease began only after the old one had lapsed, and not before a lease term passed.
    expect(nextAt).toBeGreaterThan(oldLastValid);
    expect(nextAt - cutAt).toBeGreaterThanOrEqual(LEASE_MS - LEASE_MS / 10);
    const read = await sim.call(oldRef, { type: 'read', query: null });
    expect(read).toMatchObject({ ok: false });
    const nextRef = plan.proposers[next.id]!;
    expect(await sim.call(nextRef, command(session, 2, { add: 3 }))).toEqual({ ok: true, result: 5 });
    expect(await sim.call(nextRef, { type: 'read', query: null })).toEqual({ ok: true, result: 5 });
  });

  it('an acceptor that missed an election promises the new leader\'s ballot from its heartbeats', async () => {
    const sim = new SimCluster({ seed: 9, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 5, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, ADDER);
    const old = await waitForLeader(sim, plan);
    sim.crash('n4');
    sim.isolate(plan.proposers[old.id]!.node);
    const next = await waitForLeader(sim, plan, old.id);
    expect(next.ballot.round).toBeGreaterThan(old.ballot.round);
    sim.heal();
    sim.restart('n4');
    await sim.runFor(3 * LEASE_MS);
    const view: AcceptorView = await sim.call(plan.acceptors[4]!, { type: 'inspect' });
    expect(view.promised).toEqual(next.ballot);
  });

  it('a follower node that crashes and restarts again and again never deposes the working leader', async () => {
    // The restarted proposer knows no leader and its election timer runs; the restarted acceptor
    // has forgotten the lease it granted. Neither may cost the leader its ballot: the acceptor
    // honours its last promise's lease for a full term, and the others refuse a prepare while the
    // leader's lease runs.
    await forEachSeed(20, async (seed) => {
      const sim = new SimCluster({ seed, network: { delayMs: [1, 3] } });
      const rnd = seededRandom(seed);
      const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS }, ADDER);
      const leader = await waitForLeader(sim, plan);
      const leaderRef = plan.proposers[leader.id]!;
      const follower = plan.proposers.find((p) => p.node !== leaderRef.node)!.node;
      const session = await openSession(sim, leaderRef);
      for (let seq = 1; seq <= 10; seq++) {
        sim.crash(follower);
        await sim.runFor(rnd() * LEASE_MS);
        sim.restart(follower);
        await sim.runFor(LEASE_MS / 2 + rnd() * 2 * LEASE_MS);
        expect(await sim.call(leaderRef, command(session, seq, { add: 1 }))).toEqual({ ok: true, result: seq });
      }
      const now = await statuses(sim, plan);
      expect(now.find((s) => s.id === leader.id)).toMatchObject({ role: 'leader', ballot: leader.ballot, leaseValid: true });
      expect(now.filter((s) => s.role !== 'follower')).toHaveLength(1);
      // the status says how long the lease runs on: at most a lease on the leader, nothing elsewhere
      const remaining = now.find((s) => s.id === leader.id)!.leaseRemainingMs;
      expect(remaining > 0 && remaining <= LEASE_MS).toBe(true);
      expect(now.filter((s) => s.id !== leader.id).map((s) => s.leaseRemainingMs)).toEqual(now.slice(1).map(() => 0));
    });
  });

  it('a restarted replica whose log was truncated behind snapshots catches up from a peer snapshot', async () => {
    const sim = new SimCluster({ seed: 5, network: { delayMs: [1, 3] } });
    const timing = { leaseMs: LEASE_MS, snapshotEvery: 5, leaderLogSize: 4 };
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, timing, ADDER);
    const leader = plan.proposers[(await waitForLeader(sim, plan)).id]!;
    expect(leader.node).not.toBe('n2');
    sim.crash('n2');
    const session = await openSession(sim, leader);
    for (let seq = 1; seq <= 40; seq++) {
      const r = await sim.call(leader, command(session, seq, { add: 1 }));
      expect(r).toEqual({ ok: true, result: seq });
    }
    await sim.runFor(3 * LEASE_MS); // heartbeats carry the snapshots to the leader, which truncates
    const acceptor: AcceptorView = await sim.call(plan.acceptors[0]!, { type: 'inspect' });
    expect(acceptor.truncatedBefore).toBeGreaterThan(30);

    sim.restart('n2');
    const caughtUp = async (): Promise<boolean> => {
      const v = await sim.call(plan.learners[2]!, { type: 'inspect' });
      return v.state[0] === 40;
    };
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await sim.runFor(LEASE_MS / 2);
      ok = await caughtUp();
    }
    expect(ok).toBe(true);
    const views = await learnerViews(sim, plan);
    expect([...views.values()].map((v) => v.state[0])).toEqual([40, 40, 40]);
    expect(views.get('n2')!.snapshotIndex).toBeGreaterThan(0);
  });

  it('a chosen slot that only the acceptors still hold is read back from a majority of them', async () => {
    // Learners on nodes of their own, so they can miss a commit that the acceptors keep.
    const sim = new SimCluster({ seed: 21, network: { delayMs: [1, 3] } });
    const plan = planGroup({ acceptors: ['a0', 'a1', 'a2'], proposers: ['p0', 'p1'], learners: ['l0', 'l1', 'l2'], machine: ADDER, timing: { leaseMs: LEASE_MS } });
    for (const n of ['a0', 'a1', 'a2', 'p0', 'p1', 'l0', 'l1', 'l2']) sim.addNode(n, { boot: (node) => bootSpecs(node, plan, n) });
    const old = await waitForLeader(sim, plan);
    const oldNode = plan.proposers[old.id]!.node;
    const session = await openSession(sim, plan.proposers[old.id]!);
    expect(await sim.call(plan.proposers[old.id]!, command(session, 1, { add: 1 }))).toEqual({ ok: true, result: 1 });

    // The learners are cut off while the leader gets a command chosen; then the leader dies with
    // the only copy outside the acceptors. Its heartbeats already told the other proposer the
    // slot is chosen, so the new leader's phase 1 starts after it and never re-proposes it.
    const learners = ['l0', 'l1', 'l2'];
    sim.partition(learners, ['a0', 'a1', 'a2', 'p0', 'p1']);
    void sim.ask(plan.proposers[old.id]!, command(session, 2, { add: 10 }), { timeoutMs: LEASE_MS }).catch(() => undefined);
    await sim.runFor(LEASE_MS);
    const before = await statuses(sim, plan);
    expect(before.find((s) => s.id === old.id)!.commitIndex).toBe(before.find((s) => s.id !== old.id)!.commitIndex);
    sim.crash(oldNode);
    const next = await waitForLeader(sim, plan, old.id);
    expect(next.commitIndex).toBe(before[0]!.commitIndex);
    sim.heal();

    let states: unknown[] = [];
    for (let i = 0; i < 40 && !(states.length === 3 && states.every((v) => v === 11)); i++) {
      await sim.runFor(LEASE_MS / 2);
      states = [...(await learnerViews(sim, plan)).values()].map((v) => v.state[0]);
    }
    expect(states).toEqual([11, 11, 11]);
  });
});
