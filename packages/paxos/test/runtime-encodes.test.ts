import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { KV_MACHINE, PaxosClient, planGroup, type GroupPlan, type ProposeReply, type ProposerMsg, type ProposerStatus } from '@actorfs/paxos';

/**
 * What a leader's thread encodes per slot, counted in the real runtime: five worker nodes (the
 * lock service's cell), each with an acceptor, a proposer and a learner, and a client on main.
 * Each message body a node encodes to send is counted (NodeStats.encodedBodies). Also, what a
 * batching client sends per turn on threads, and the timers it asks for, and the order its answers settle in.
 */

const NODES = ['w1', 'w2', 'w3', 'w4', 'w5'];
// Accepts go to all five at once (no thrifty widening to count), and heartbeats are rare.
const TIMING = { leaseMs: 4_000, thrifty: false };
const COMMITS = 60;

let dataDir: string;
let system: ActorSystem;
let plan: GroupPlan;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'paxos-runtime-encodes-'));
  system = await ActorSystem.start({ workers: NODES, dataDir, modules: [new URL('./fixtures/runtime-kinds.ts', import.meta.url)] });
  plan = planGroup({ acceptors: NODES, proposers: NODES, learners: NODES, machine: KV_MACHINE, timing: TIMING });
  for (const node of NODES) await plan.spawnOn(system, node);
}, 60_000);

afterAll(async () => {
  await system?.shutdown();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function leaderStatus(): Promise<ProposerStatus> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const all = await Promise.all(plan.proposers.map((p) => system.ask(p, { type: 'status' }, { timeoutMs: 2_000 }).catch(() => undefined)));
    const leader = all.find((s) => s?.role === 'leader' && s.leaseValid);
    if (leader) return leader;
  }
  throw new Error('no leader with a valid lease within 30 s');
}

describe('a leader encodes each slot once for all its acceptors and once for its other learners', () => {
  it(`${COMMITS} commits one at a time cost the leader's node at most 3 encoded bodies per slot (Accept, commit, the client's answer), not one per remote acceptor and learner`, async () => {
    const client = new PaxosClient({
      clientId: 'encodes',
      proposers: plan.proposers,
      ask: (ref: ActorRef<ProposerMsg>, m: ProposerMsg, timeoutMs: number) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      timeoutMs: 5_000,
    });
    await client.propose({ op: 'put', key: 'warm', value: 0 }); // opens the session, finds the leader
    const leader = await leaderStatus();
    const node = plan.proposers[leader.id]!.node;
    const before = (await system.stats(node)).encodedBodies;
    for (let i = 1; i <= COMMITS; i++) await client.propose({ op: 'put', key: 'k', value: i });
    const encoded = (await system.stats(node)).encodedBodies - before;
    const slots = (await leaderStatus()).commitIndex - leader.commitIndex;
    expect(slots).toBeGreaterThanOrEqual(COMMITS);
    expect(encoded / slots).toBeLessThanOrEqual(3.5);
  }, 120_000);
});

describe("a batching client on threads sends a turn's proposes at the turn's end", () => {
  it('each turn goes as one propose-batch, with no timer asked for', async () => {
    const sent: string[] = [];
    let sleeps = 0;
    const client = new PaxosClient({
      clientId: 'turns',
      machine: KV_MACHINE,
      proposers: plan.proposers,
      ask: (ref: ActorRef<ProposerMsg>, m: ProposerMsg, timeoutMs: number) => {
        if (m.type === 'propose' || m.type === 'propose-batch') sent.push(m.type === 'propose' ? 'propose' : `batch of ${m.cmds.length}`);
        return system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
      },
      sleep: (ms) => {
        sleeps++;
        return new Promise((r) => setTimeout(r, ms));
      },
      timeoutMs: 5_000,
      batch: {},
    });
    await client.propose({ op: 'put', key: 'turn', value: 0 }); // opens the session, finds the leader
    await leaderStatus();
    sent.length = sleeps = 0;
    for (let turn = 1; turn <= 3; turn++) {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client.propose({ op: 'put', key: `turn-${turn}-${i}`, value: i })));
      expect(results).toHaveLength(8);
    }
    expect(sent).toEqual(['batch of 8', 'batch of 8', 'batch of 8']);
    expect(sleeps).toBe(0);
  }, 120_000);
});

describe("on threads a pipelining client's answers settle in the log's order", () => {
  it("plain and batched commands in flight at once settle in the order the log holds them", async () => {
    // A group of its own with one slot in flight: while the first turn's slot syncs, the turns
    // after it queue at the leader and share the next slot, plain proposes and batches mixed.
    const ordered = planGroup({ name: 'ordered', acceptors: NODES.slice(0, 3), proposers: NODES.slice(0, 3), learners: NODES.slice(0, 3), machine: KV_MACHINE, timing: { ...TIMING, maxInflightSlots: 1 } });
    for (const node of NODES.slice(0, 3)) await ordered.spawnOn(system, node);
    const client = new PaxosClient({
      clientId: 'order',
      machine: KV_MACHINE,
      proposers: ordered.proposers,
      ask: (ref: ActorRef<ProposerMsg>, m: ProposerMsg, timeoutMs: number) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      timeoutMs: 5_000,
      batch: { maxCommands: 8, maxBytes: 1 << 20 },
    });
    await client.propose({ op: 'put', key: 'o-0', value: 0 }); // opens the session, finds the leader
    // Turns of one command (a plain propose) and of two (a propose-batch), all in flight at once.
    const turns = Array.from({ length: 6 }, (_, r) => [[1], [2, 3], [4], [5, 6]].map((t) => t.map((i) => 10 * r + i))).flat();
    const settled: number[] = [];
    const calls: Array<Promise<unknown>> = [];
    for (const turn of turns) {
      for (const id of turn) calls.push(client.propose({ op: 'put', key: `o-${id}`, value: id }).then(() => settled.push(id)));
      await null; // the turn ends: its proposes leave
    }
    await Promise.all(calls);
    const slots = await appliedSlots(ordered, settled.length);
    // The case in question: a slot holding a plain propose's command and a batch's.
    const pairs = turns.filter((t) => t.length === 2);
    const single = new Set(turns.filter((t) => t.length === 1).flat());
    expect(slots.some((ids) => ids.some((id) => single.has(id)) && pairs.some(([a]) => ids.includes(a!)))).toBe(true);
    expect(settled).toEqual(slots.flat()); // without the learner's log-order answers: 1, 4, 11, 14, 2, 3, ...
  }, 120_000);
});

/** The ids (o-<id> keys) each slot of a learner's applied log holds, once one has applied `count` of them. */
async function appliedSlots(group: GroupPlan, count: number): Promise<number[][]> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    for (const learner of group.learners) {
      const view = await system.ask(learner, { type: 'inspect' }, { timeoutMs: 2_000 });
      const slots = view.log.map(([, v]) => v.cmds.flatMap((c) => (c.type === 'op' ? [Number((c.op as { key: string }).key.slice(2))] : [])).filter((id) => id > 0));
      if (slots.flat().length >= count) return slots.filter((ids) => ids.length > 0);
    }
  }
  throw new Error(`no learner applied ${count} commands within 30 s`);
}
