import type { ActorNode, ActorRef } from '@actorfs/actors';
import { kvModel, UNKNOWN, type KvInput, type KvOutput, type Operation, type SimCluster, type SimSend } from '@actorfs/actors/testing';
import { KV_MACHINE, planGroup, type AnyMachineDef, type GroupPlan, type LearnerMsg, type LearnerView, type PaxosTiming, type ProposeReply, type ProposerMsg, type ProposerStatus, type SlotValue } from '../src/index.ts';
import type { HistoryEntry } from './fixtures/kv-client.ts';
import { decodeSlotValue } from '../src/slot-bytes.ts';

/** Adds one node per acceptor (proposers and learners on the first nodes) and boots the group. */
export function simGroup(
  sim: SimCluster,
  sizes: { acceptors: number; proposers: number; learners: number },
  timing: Partial<PaxosTiming>,
  machine: AnyMachineDef = KV_MACHINE,
): { plan: GroupPlan; nodes: string[] } {
  const nodes = Array.from({ length: Math.max(sizes.acceptors, sizes.proposers, sizes.learners) }, (_, i) => `n${i}`);
  const plan = planGroup({
    acceptors: nodes.slice(0, sizes.acceptors),
    proposers: nodes.slice(0, sizes.proposers),
    learners: nodes.slice(0, sizes.learners),
    machine,
    timing,
  });
  for (const n of nodes) sim.addNode(n, { boot: (node) => bootSpecs(node, plan, n) });
  return { plan, nodes };
}

export function bootSpecs(node: ActorNode, plan: GroupPlan, name: string): void {
  for (const s of plan.on(name)) node.spawn(s.kind, s.props, { name: s.name });
}

/** Every learner's view (learners on crashed nodes are skipped). */
export async function learnerViews(sim: SimCluster, plan: GroupPlan): Promise<Map<string, LearnerView>> {
  const views = new Map<string, LearnerView>();
  for (const l of plan.learners) if (sim.isUp(l.node)) views.set(l.node, await sim.call(l, { type: 'inspect' }));
  return views;
}

/**
 * The safety claims over the learners' logs: no slot has two different values, and every
 * learner's applied log is a prefix of the longest one; learners at the same index agree on state.
 */
export function assertConsistentLogs(views: Map<string, LearnerView>): void {
  const bySlot = new Map<number, { value: string; learner: string }>();
  for (const [learner, v] of views) {
    let expected = v.snapshotIndex + 1;
    for (const [slot, value] of v.log) {
      if (slot !== expected) throw new Error(`learner ${learner}: applied log has a hole at slot ${expected} (next is ${slot})`);
      expected++;
      const text = JSON.stringify(value);
      const seen = bySlot.get(slot);
      if (seen && seen.value !== text) throw new Error(`slot ${slot} has two chosen values: ${seen.value} at ${seen.learner}, ${text} at ${learner}`);
      bySlot.set(slot, { value: text, learner });
    }
    if (expected - 1 !== v.applied) throw new Error(`learner ${learner}: log ends at ${expected - 1} but applied is ${v.applied}`);
  }
  const all = [...views.entries()];
  for (const [a, va] of all)
    for (const [b, vb] of all)
      if (a < b && va.applied === vb.applied && JSON.stringify(va.state) !== JSON.stringify(vb.state)) {
        throw new Error(`learners ${a} and ${b} both applied ${va.applied} slots but their states differ`);
      }
}

/** The client histories as operations on a key-value model, for the linearizability checker. */
export function toOperations(histories: HistoryEntry[][]): Operation<KvInput<string, unknown>, KvOutput<unknown>>[] {
  return histories.flat().map((e) => {
    const input: KvInput<string, unknown> =
      e.kind === 'put' ? { op: 'put', key: e.key, value: e.value }
      : e.kind === 'cas' ? { op: 'cas', key: e.key, expected: e.expected ?? null, value: e.value }
      : { op: 'get', key: e.key };
    const output = !e.ok ? UNKNOWN : e.kind === 'put' ? undefined : (e.output as KvOutput<unknown>);
    return { clientId: e.client, input, output, call: e.call, ret: e.ok ? e.ret : Infinity };
  });
}

export const kv = kvModel<string, unknown>(null);

export function valueOf(slot: SlotValue): string {
  return JSON.stringify(slot);
}

export type { ActorRef };

/**
 * An oracle over the whole run: every value a leader announces as chosen (a `commit` to a
 * learner) and every value a replica hands another in catch-up (`entries`) must agree per slot.
 * Unlike the learners' logs at the end, it sees slots that snapshots have since compacted away.
 */
export class ChosenOracle {
  private readonly values = new Map<number, { value: string; from: string; time: number }>();
  private violation: string | undefined;

  readonly onSend = (s: SimSend): void => {
    const m = s.body as LearnerMsg;
    if (m.type === 'commit') this.see(m.slot, m.value, s);
    else if (m.type === 'commit-encoded') this.see(m.slot, decodeSlotValue(m.value, m.slot), s);
    else if (m.type === 'entries') for (const [slot, value] of m.entries) this.see(slot, value, s);
  };

  get slots(): number {
    return this.values.size;
  }

  /** Throws if any slot was ever given two different values. */
  check(): void {
    if (this.violation) throw new Error(this.violation);
  }

  private see(slot: number, value: SlotValue, s: SimSend): void {
    const text = valueOf(value);
    const first = this.values.get(slot);
    if (!first) this.values.set(slot, { value: text, from: s.from, time: s.time });
    else if (first.value !== text && !this.violation) {
      this.violation = `slot ${slot} has two chosen values: ${first.value} (from ${first.from} at t=${first.time}) and ${text} (from ${s.from} at t=${s.time})`;
    }
  }
}

/** Opens a client session through `proposer` (the leader) and returns its id. */
export async function openSession(sim: SimCluster, proposer: ActorRef<ProposerMsg>, client = 'c'): Promise<string> {
  const r: ProposeReply = await sim.call(proposer, { type: 'propose', cmd: { type: 'open', client } });
  if (!r.ok) throw new Error(`could not open a session: ${JSON.stringify(r)}`);
  return r.result as string;
}

/** A propose of `op` as command `seq` of `session`, acknowledging seq - 1 (a one-at-a-time client) unless told. */
export function command(session: string, seq: number, op: unknown, ack = seq - 1): Extract<ProposerMsg, { type: 'propose' }> {
  return { type: 'propose', cmd: { type: 'op', session, seq, ack, op } };
}

/** The proposer that leads under a valid lease, polled every tenth of a lease (fails, naming the seed, if none emerges). */
export async function leaderOf(sim: SimCluster, plan: GroupPlan, leaseMs: number): Promise<ActorRef<ProposerMsg>> {
  for (let i = 0; i < 200; i++) {
    for (const p of plan.proposers) {
      if (!sim.isUp(p.node)) continue;
      const s: ProposerStatus = await sim.call(p, { type: 'status' });
      if (s.role === 'leader' && s.leaseValid) return p;
    }
    await sim.runFor(leaseMs / 10);
  }
  throw new Error(`no leader (seed ${sim.seed})`);
}
