import { describe, expect, it } from '@jest/globals';
import { ActorRef, defineActor, type ActorContext } from '@actorfs/actors';
import { SimCluster } from '@actorfs/actors/testing';
import {
  Acceptor,
  KV_MACHINE,
  Learner,
  PaxosClient,
  PaxosNoEffectError,
  PaxosRefusedError,
  planGroup,
  type Ballot,
  type LearnerMsg,
  type PaxosTiming,
  type ProposeReply,
  type ProposerMsg,
  type SlotValue,
} from '../src/index.ts';
import { command, leaderOf, learnerViews, openSession, simGroup } from './harness.ts';
import { encodeSlotValue } from '../src/slot-bytes.ts';

// Bad input, message races and byte limits, each a scenario found by review. Every test drives
// the real actors in the simulator; some stand in for a peer with a recorder and craft its messages.

const LEASE_MS = 100;
const KIB = 1024;

/** Records every message it gets, per actor name, for tests that play a group's other members. */
const inbox = new Map<string, unknown[]>();
const Recorder = defineActor('test.hardening-recorder', (_props: Record<string, never>, ctx: ActorContext<unknown>) => (msg: unknown) => {
  const list = inbox.get(ctx.self.id) ?? [];
  list.push(msg);
  inbox.set(ctx.self.id, list);
});
/** Asks the leader for `count` puts of `bytes` each at once and records the replies under 'burst'. */
type BurstMsg = { type: 'go'; leader: ActorRef<ProposerMsg>; session: string; count: number; bytes: number };
const Burst = defineActor('test.hardening-burst', (_props: Record<string, never>, ctx: ActorContext<BurstMsg>) => (msg: BurstMsg) => {
  const record = (r: unknown): void => void inbox.set('burst', [...(inbox.get('burst') ?? []), r]);
  for (let i = 0; i < msg.count; i++) {
    void ctx.ask(msg.leader, command(msg.session, i + 1, { op: 'put', key: `b${i}`, value: 'x'.repeat(msg.bytes) }, 0), { timeoutMs: 3_000 }).then(record, (e: unknown) => record(String(e)));
  }
});
const received = (name: string): Array<{ type: string }> => (inbox.get(name) ?? []) as Array<{ type: string }>;


/** A real learner whose acceptors (A0..A2) and proposer (P) are recorders the test speaks for. */
function loneLearner(seed: number): { sim: SimCluster; learner: ActorRef<LearnerMsg>; proposer: ActorRef<unknown> } {
  inbox.clear();
  const sim = new SimCluster({ seed });
  sim.addNode('r');
  sim.addNode('l');
  const acceptors = [0, 1, 2].map((i) => sim.spawn('r', Recorder, {}, { name: `A${i}` }));
  const proposer = sim.spawn('r', Recorder, {}, { name: 'P' });
  const learner = new ActorRef<LearnerMsg>('l', 'learner');
  sim.node('l').spawn(Learner, { index: 0, machine: KV_MACHINE.name, acceptors, learners: [learner], proposers: [proposer], timing: { leaseMs: LEASE_MS } }, { name: 'learner' });
  return { sim, learner, proposer };
}

const put = (session: string, seq: number, key: string, value: unknown): ProposerMsg => command(session, seq, { op: 'put', key, value });
/** A slot of one command of session `session`, as a leader would make it. */
const slotOf = (session: string, seq: number, op: unknown): SlotValue => ({ cmds: [{ type: 'op', session, seq, ack: 0, op }], time: 0 });

describe('Paxos hardening (simulator)', () => {
  it('a late answer to an earlier, shorter acceptor read is not counted for slots beyond its range', async () => {
    const { sim, learner, proposer } = loneLearner(6);
    const b1: Ballot = { round: 1, id: 0 };
    const b2: Ballot = { round: 2, id: 1 };
    const x = slotOf('x', 1, { op: 'put', key: 'a', value: 'x' });
    const notChosen = slotOf('old', 1, { op: 'put', key: 'k', value: 'not chosen' });
    const chosen = slotOf('new', 1, { op: 'put', key: 'k', value: 'chosen' });
    // Slot 2 was chosen at b2 by A0 and A2; A1 still holds an older accept at b1.
    const reads = (): Array<{ from: number; to: number }> => received('A0').filter((m) => m.type === 'read-accepted') as never;

    sim.tell(learner, { type: 'commit-index', index: 1, leader: proposer as never });
    await sim.runUntil(() => reads().length >= 1, { maxMs: 2_000 });
    expect(reads()[0]).toMatchObject({ from: 1, to: 1 });
    sim.tell(learner, { type: 'commit-index', index: 2, leader: proposer as never });
    await sim.runUntil(() => reads().length >= 2, { maxMs: 2_000 });
    expect(reads()[1]).toMatchObject({ from: 1, to: 2 });

    // A0's answer to the first read (1..1) arrives late, then A1's answer to the second (1..2).
    sim.tell(learner, { type: 'accepted-entries', from: 1, to: 1, covered: 1, acceptor: 0, truncatedBefore: 0, entries: [[1, b2, x]] });
    sim.tell(learner, { type: 'accepted-entries', from: 1, to: 2, covered: 2, acceptor: 1, truncatedBefore: 0, entries: [[1, b2, x], [2, b1, notChosen]] });
    await sim.runFor(5);
    const early = await sim.call(learner, { type: 'inspect' });
    expect(early.applied).toBe(0); // one answer to this read is no majority

    sim.tell(learner, { type: 'accepted-entries', from: 1, to: 2, covered: 2, acceptor: 2, truncatedBefore: 0, entries: [[1, b2, x], [2, b2, chosen]] });
    await sim.runFor(5);
    const view = await sim.call(learner, { type: 'inspect' });
    expect(view.applied).toBe(2);
    expect(view.log).toEqual([
      [1, x],
      [2, chosen],
    ]);
  });

  it('an answer cut short by its byte limit decides only the slots a majority of answers covers', async () => {
    const { sim, learner, proposer } = loneLearner(8);
    const b: Ballot = { round: 1, id: 0 };
    const v = (n: number): SlotValue => slotOf('c', n, { op: 'put', key: 'k', value: n });
    sim.tell(learner, { type: 'commit-index', index: 3, leader: proposer as never });
    await sim.runUntil(() => received('A0').some((m) => m.type === 'read-accepted'), { maxMs: 2_000 });
    // A0 covers 1..1 only; A1 covers 1..3 but has not accepted slot 3 (it missed that accept).
    sim.tell(learner, { type: 'accepted-entries', from: 1, to: 3, covered: 1, acceptor: 0, truncatedBefore: 0, entries: [[1, b, v(1)]] });
    sim.tell(learner, { type: 'accepted-entries', from: 1, to: 3, covered: 3, acceptor: 1, truncatedBefore: 0, entries: [[1, b, v(1)], [2, b, v(2)]] });
    await sim.runFor(5);
    const view = await sim.call(learner, { type: 'inspect' });
    expect(view.applied).toBe(1);
  });

  it('an acceptor cuts its answer to a read short at maxReplyBytes and says how far it covers', async () => {
    inbox.clear();
    const sim = new SimCluster({ seed: 2 });
    sim.addNode('r');
    sim.addNode('a', { boot: (n) => void n.spawn(Acceptor, { index: 0, timing: { leaseMs: LEASE_MS, maxReplyBytes: 32 * KIB } }, { name: 'acc' }) });
    const leader = sim.spawn('r', Recorder, {}, { name: 'L' });
    const reader = sim.spawn('r', Recorder, {}, { name: 'R' });
    const acc = new ActorRef<never>('a', 'acc');
    const ballot = { round: 1, id: 0 };
    for (let slot = 1; slot <= 10; slot++) {
      const value = slotOf('c', slot, 'x'.repeat(10 * KIB));
      sim.tell(acc as never, { type: 'accept', ballot, slot, value: encodeSlotValue(value), proposer: leader });
    }
    await sim.runFor(20);
    sim.tell(acc as never, { type: 'read-accepted', from: 1, to: 10, learner: reader });
    await sim.runFor(5);
    const [answer] = received('R') as Array<{ type: string; covered: number; to: number; entries: Array<[number]> }>;
    expect(answer).toMatchObject({ type: 'accepted-entries', from: 1, to: 10 });
    expect(answer!.entries.length).toBeGreaterThan(0);
    expect(answer!.entries.length).toBeLessThan(10);
    expect(answer!.covered).toBe(answer!.entries[answer!.entries.length - 1]![0]);
  });

  it('a heartbeat is acknowledged only once the promise under it is synced, so a restart keeps the lease', async () => {
    for (const crashBeforeSync of [true, false]) {
      inbox.clear();
      const sim = new SimCluster({ seed: 1, fsyncMs: [5, 5] });
      sim.addNode('r');
      sim.addNode('a', { boot: (n) => void n.spawn(Acceptor, { index: 0, timing: { leaseMs: LEASE_MS } }, { name: 'acc' }) });
      const leader = sim.spawn('r', Recorder, {}, { name: 'L' });
      const rival = sim.spawn('r', Recorder, {}, { name: 'X' });
      const acc = new ActorRef<never>('a', 'acc');
      const ballot = { round: 1, id: 0 };
      sim.tell(acc as never, { type: 'accept', ballot, slot: 1, value: encodeSlotValue({ cmds: [], time: 0 }), proposer: leader });
      sim.tell(acc as never, { type: 'heartbeat', ballot, round: 1, proposer: leader });
      await sim.runFor(crashBeforeSync ? 2 : 20);
      const acked = received('L').some((m) => m.type === 'heartbeat-ack');
      expect(acked).toBe(!crashBeforeSync);
      sim.crash('a');
      sim.restart('a');
      sim.tell(acc as never, { type: 'prepare', ballot: { round: 2, id: 1 }, fromSlot: 1, proposer: rival });
      await sim.runFor(30);
      const answer = received('X')[0] as { type: string; leaseMs?: number } | undefined;
      // A lease the leader was told of is honoured after the restart; an unsynced one was never told.
      if (acked) expect(answer).toMatchObject({ type: 'nack', leaseMs: expect.any(Number) });
      if (acked) expect(answer!.leaseMs).toBeGreaterThan(0);
      else expect(answer?.type).toBe('promise');
    }
  });

  it('a heartbeat at a promise already synced is acknowledged at once, not behind a slow sync of other writes; a restart still keeps the lease', async () => {
    inbox.clear();
    const sim = new SimCluster({ seed: 1, fsyncMs: [50, 50] });
    sim.addNode('r');
    sim.addNode('a', { boot: (n) => void n.spawn(Acceptor, { index: 0, timing: { leaseMs: 4 * LEASE_MS } }, { name: 'acc' }) });
    const leader = sim.spawn('r', Recorder, {}, { name: 'L' });
    const rival = sim.spawn('r', Recorder, {}, { name: 'X' });
    const acc = new ActorRef<never>('a', 'acc');
    const ballot = { round: 1, id: 0 };
    sim.tell(acc as never, { type: 'accept', ballot, slot: 1, value: encodeSlotValue({ cmds: [], time: 0 }), proposer: leader });
    await sim.runFor(60); // the promise under ballot is synced
    sim.tell(acc as never, { type: 'accept', ballot, slot: 2, value: encodeSlotValue({ cmds: [], time: 0 }), proposer: leader });
    sim.tell(acc as never, { type: 'heartbeat', ballot, round: 1, proposer: leader });
    await sim.runFor(5); // slot 2's sync takes 50 ms
    const got = received('L') as Array<{ type: string; slot?: number; round?: number }>;
    expect(got.filter((m) => m.type === 'accepted').map((m) => m.slot)).toEqual([1]);
    expect(got.filter((m) => m.type === 'heartbeat-ack').map((m) => m.round)).toEqual([1]);
    // Crash before slot 2 is synced: the lease the ack told of rests on the promise on disk, so it holds.
    sim.crash('a');
    sim.restart('a');
    sim.tell(acc as never, { type: 'prepare', ballot: { round: 2, id: 1 }, fromSlot: 1, proposer: rival });
    await sim.runFor(5);
    const answer = received('X')[0] as { type: string; leaseMs?: number } | undefined;
    expect(answer).toMatchObject({ type: 'nack', leaseMs: expect.any(Number) });
    expect(answer!.leaseMs).toBeGreaterThan(0);
  });

  it('a malformed or oversize command is refused with a clear reason, not retried, and the group keeps serving', async () => {
    const sim = new SimCluster({ seed: 3, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS, maxCommandBytes: 4 * KIB });
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const c = await openSession(sim, leader);
    expect(await sim.call(leader, put(c, 1, 'k', 1))).toEqual({ ok: true, result: null });
    const malformed = [
      null,
      { type: 'op', session: '', seq: 1, ack: 0, op: 1 },
      { type: 'op', session: c, seq: 0, ack: 0, op: 1 },
      { type: 'op', session: c, seq: 1.5, ack: 0, op: 1 },
      { type: 'op', session: c, seq: 2, ack: 2, op: 1 },
      { type: 'op', session: c, seq: 2, op: 1 },
      { type: 'shut', session: c },
      { client: c, seq: 2, op: 1 },
    ];
    for (const cmd of malformed) {
      const r = (await sim.call(leader, { type: 'propose', cmd } as never)) as ProposeReply;
      expect(r).toMatchObject({ ok: false, refused: 'malformed', reason: expect.stringContaining('malformed command') });
    }
    const big = (await sim.call(leader, put(c, 2, 'k', 'x'.repeat(8 * KIB)))) as ProposeReply;
    expect(big).toMatchObject({ ok: false, refused: 'too-large', reason: expect.stringContaining('command too large') });

    let asks = 0;
    const client = new PaxosClient({
      clientId: 'd',
      proposers: plan.proposers,
      ask: (ref, m, timeoutMs) => {
        if (m.type === 'propose' && m.cmd.type === 'op') asks++; // not the session's open
        return sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>;
      },
      sleep: (ms) => sim.runFor(ms),
    });
    const refused = client.propose({ op: 'put', key: 'k', value: 'y'.repeat(8 * KIB) });
    void refused.catch(() => undefined);
    await sim.runUntil(() => asks > 0, { maxMs: 100 });
    await sim.runFor(50);
    await expect(refused).rejects.toBeInstanceOf(PaxosRefusedError);
    await expect(refused).rejects.toBeInstanceOf(PaxosNoEffectError); // of the kind that certainly had no effect
    expect(asks).toBeLessThanOrEqual(2); // at most a hop to the leader, then refused for good

    expect(await sim.call(leader, put(c, 3, 'k', 3))).toEqual({ ok: true, result: 1 });
    await sim.runFor(2 * LEASE_MS);
    for (const v of (await learnerViews(sim, plan)).values()) expect(v.state).toEqual([[['k', 3]]]);
  });

  it('commands that arrive together are cut into slots the transport can carry', async () => {
    // A 64 KiB message limit, and byte limits scaled down with it (the defaults are 1 MiB per
    // batch against 16 MiB): ten 10 KiB puts in one turn would make one 100 KiB accept otherwise.
    const sim = new SimCluster({ seed: 4, network: { delayMs: [1, 3] }, maxMessageBytes: 64 * KIB });
    const limits = { maxBatchBytes: 24 * KIB, maxCommandBytes: 16 * KIB, maxReplyBytes: 32 * KIB, maxInflightBytes: 48 * KIB };
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS, ...limits });
    const leader = await leaderOf(sim, plan, LEASE_MS);
    // Asked from the leader's own node in one turn, so all ten are in its mailbox at once.
    inbox.clear();
    const burst = sim.spawn(leader.node, Burst, {});
    sim.tell(burst, { type: 'go', leader, session: await openSession(sim, leader), count: 10, bytes: 10 * KIB });
    expect(await sim.runUntil(() => received('burst').length === 10, { maxMs: 3_000 })).toBe(true);
    expect(received('burst')).toEqual(Array.from({ length: 10 }, () => ({ ok: true, result: null })));
    expect(await sim.call(leader, { type: 'read', query: { op: 'size' } })).toEqual({ ok: true, result: 10 });
    expect(sim.node(leader.node).stats().deadLetters.byReason.oversize ?? 0).toBe(0);
  });

  it('a learner restarted behind a log of big slots catches up in replies the transport can carry', async () => {
    const sim = new SimCluster({ seed: 7, network: { delayMs: [1, 3] }, maxMessageBytes: 256 * KIB });
    const limits = { maxReplyBytes: 64 * KIB, maxBatchBytes: 64 * KIB, snapshotEvery: 1e9 };
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS, ...limits });
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const victim = plan.learners.find((l) => l.node !== leader.node)!;
    sim.crash(victim.node);
    const c = await openSession(sim, leader);
    for (let seq = 1; seq <= 300; seq++) {
      expect(await sim.call(leader, put(c, seq, `k${seq % 5}`, 'v'.repeat(2 * KIB)))).toMatchObject({ ok: true });
    }
    sim.restart(victim.node);
    let applied = 0;
    // 300 puts and the slot that opened their session.
    for (let i = 0; i < 100 && applied < 301; i++) {
      await sim.runFor(LEASE_MS);
      applied = (await sim.call(victim, { type: 'status' })).applied;
    }
    expect(applied).toBe(301);
    // Every catch-up reply (the leader's, a peer's, the acceptors') fit: none was dropped as oversize.
    for (const n of sim.nodeNames()) expect(sim.node(n).stats().deadLetters.byReason.oversize ?? 0).toBe(0);
  });

  it('malformed protocol messages are dropped without a restart, and cannot wedge the group', async () => {
    const sim = new SimCluster({ seed: 5, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS });
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const c = await openSession(sim, leader);
    expect(await sim.call(leader, put(c, 1, 'k', 1))).toMatchObject({ ok: true });
    const other = plan.proposers.find((p) => !p.equals(leader))!;
    const junk: Array<[ActorRef<never>, unknown]> = [
      [plan.acceptors[0] as never, { type: 'prepare', fromSlot: 1, proposer: other }],
      [plan.acceptors[1] as never, { type: 'prepare', ballot: { round: 50, id: 0 }, fromSlot: 1, proposer: null }],
      [plan.acceptors[2] as never, { type: 'truncate', before: 'z' }],
      [plan.learners[0] as never, { type: 'commit', slot: 2, value: { cmds: [null], time: 0 } }],
      [plan.learners[0] as never, { type: 'commit', slot: 2, value: { cmds: [] } }],
      [plan.learners[1] as never, { type: 'commit-encoded', slot: 2, value: new Uint8Array([0xc1, 7]) }],
      [plan.learners[2] as never, { type: 'commit-encoded', slot: 2, value: encodeSlotValue({ cmds: [null], time: 0 } as never) }],
      [plan.acceptors[2] as never, { type: 'accept', ballot: { round: 1e6, id: 0 }, slot: 2, value: { cmds: [], time: 0 }, proposer: other }],
      [other as never, { type: 'leader', ballot: { round: 1e308, id: 9 }, leader: other, commitIndex: 1 }],
    ];
    for (const a of plan.acceptors) junk.push([a as never, { type: 'heartbeat', ballot: { round: 1e308, id: 99 }, round: 1, proposer: other }]);
    for (const [to, msg] of junk) sim.tell(to, msg as never);
    await sim.runFor(LEASE_MS);
    // The accepted history is intact (no string truncation point swept it away), the leader kept
    // its ballot, and it still commits.
    const acc = await sim.call(plan.acceptors[2]!, { type: 'inspect' });
    expect(acc.truncatedBefore).toBeLessThanOrEqual(1);
    expect(acc.accepted.map(([slot]) => slot)).toContain(1);
    expect(acc.promised.round).toBeLessThan(1e6);
    expect(await sim.call(leader, put(c, 2, 'k', 2))).toEqual({ ok: true, result: 1 });
    const deadLetters = plan.acceptors.reduce((n, a) => n + (sim.node(a.node).stats().deadLetters.byReason.unhandled ?? 0), 0);
    expect(deadLetters).toBeGreaterThanOrEqual(junk.length);
  });
});

describe('Paxos settings', () => {
  it('timing that cannot work is refused when the group is planned, naming each problem', () => {
    const plan = (timing: Partial<PaxosTiming>): unknown => planGroup({ acceptors: ['a'], proposers: ['a'], learners: ['a'], machine: KV_MACHINE, timing });
    expect(() => plan({ leaseMs: 100, heartbeatMs: 95 })).toThrow('heartbeatMs (95) must be below leaseMs - driftMs (90)');
    expect(() => plan({ leaseMs: 100, driftMs: 100 })).toThrow('driftMs must be at least 0 and below leaseMs');
    expect(() => plan({ sessionWindow: 0, maxBatch: -1 })).toThrow(/maxBatch must be a positive number.*sessionWindow must be a positive number/);
    expect(plan({ leaseMs: 100 })).toBeDefined();
  });

  it('a group or a client without proposers (or a group without acceptors or learners) is a clear error', () => {
    const layout = { acceptors: ['a'], proposers: ['a'], learners: ['a'], machine: KV_MACHINE };
    expect(() => planGroup({ ...layout, proposers: [] })).toThrow('group paxos: proposers is empty');
    expect(() => planGroup({ ...layout, acceptors: [] })).toThrow('group paxos: acceptors is empty');
    expect(() => planGroup({ ...layout, learners: [] })).toThrow('group paxos: learners is empty');
    const client = (proposers: Array<ActorRef<ProposerMsg>>): unknown =>
      new PaxosClient({ clientId: 'c', machine: KV_MACHINE, proposers, ask: async () => ({ ok: false, reason: 'unused' }) as ProposeReply, sleep: async () => undefined });
    expect(() => client([])).toThrow('client c: proposers is empty');
    expect(client(planGroup(layout).proposers)).toBeInstanceOf(PaxosClient);
  });
});
