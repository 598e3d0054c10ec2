import { performance } from 'node:perf_hooks';
import type { ActorSystem } from '@actorfs/actors';
import { KV_MACHINE, Learner, PaxosClient, planGroup, type ProposeReply, type ProposerStatus } from '@actorfs/paxos';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Values of this size fill the state (16 of them make a 1 MiB slot). */
const VALUE_BYTES = 64 * KIB;

/**
 * A new learner catching up a state of `mib` MiB from a peer's snapshot, streamed in pieces: a
 * group of its own on `nodes` (snapshots every 128 slots, a short leader log, so the catch-up is
 * the snapshot), filled through one pipelined client; then a fresh learner on the first node is
 * told the commit index and timed until it has applied it. Returns MB/s (10^6 bytes) of state.
 */
export async function snapshotCatchUpMbPerSec(system: ActorSystem, nodes: string[], mib: number): Promise<number> {
  const plan = planGroup({ name: 'catch-up', acceptors: nodes, proposers: nodes, learners: nodes, machine: KV_MACHINE, timing: { leaseMs: 2000, snapshotEvery: 128, leaderLogSize: 16 } });
  for (const s of plan.specs) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
  let commitIndex = 0;
  let leader = plan.proposers[0]!;
  const client = new PaxosClient({
    clientId: 'fill',
    machine: KV_MACHINE,
    proposers: plan.proposers,
    ask: (ref, m, timeoutMs) => system.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    timeoutMs: 30_000,
  });
  const puts = (mib * MIB) / VALUE_BYTES;
  const value = 'v'.repeat(VALUE_BYTES);
  await Promise.all(Array.from({ length: puts }, (_, i) => client.propose({ op: 'put', key: `k${i}`, value })));
  await new Promise((r) => setTimeout(r, 3_000)); // a snapshot after the last slots, and its truncation
  for (const p of plan.proposers) {
    const s: ProposerStatus = await system.ask(p, { type: 'status' });
    if (s.role === 'leader') [leader, commitIndex] = [p, s.commitIndex];
  }
  const fresh = await system.spawn(
    Learner,
    { index: nodes.length, machine: KV_MACHINE.name, acceptors: plan.acceptors, learners: plan.learners, proposers: plan.proposers, timing: { leaseMs: 2000 } },
    { node: nodes[0]!, name: 'catch-up-learner-new' },
  );
  const t0 = performance.now();
  system.tell(fresh, { type: 'commit-index', index: commitIndex, leader });
  for (;;) {
    const s = await system.ask(fresh, { type: 'status' }, { timeoutMs: 60_000 });
    if (s.applied >= commitIndex) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return (mib * MIB) / 1e6 / ((performance.now() - t0) / 1000);
}
