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
 * batching client sends per turn on threads, and the timers it asks for.
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
