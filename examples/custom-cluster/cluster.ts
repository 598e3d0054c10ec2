import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ActorSystem, hashString } from '@actorfs/actors';
import {
  KV_MACHINE,
  PaxosClient,
  planGroup,
  type GroupPlan,
  type KvOp,
  type KvQuery,
  type LearnerView,
  type ProposeReply,
  type ProposerStatus,
} from '@actorfs/paxos';

/**
 * Where each role runs: five worker threads, an acceptor on each (a majority is 3, so the group
 * survives any 2 of them dying), proposers on w1 and w2, learners on w3..w5. Any layout works;
 * planGroup only needs a node name per actor.
 */
export const LAYOUT = {
  acceptors: ['w1', 'w2', 'w3', 'w4', 'w5'],
  proposers: ['w1', 'w2'],
  learners: ['w3', 'w4', 'w5'],
};

export interface CustomClusterOptions {
  /** Where the nodes keep their LMDB stores (one folder per node). Default: a temporary one, removed at the end. */
  dataDir?: string;
  /** Writes to see acknowledged before the leader is killed, and again after the takeover. Default 20. */
  writesPerPhase?: number;
  /** Bound on each wait (election, failover, catch-up). Default 20,000. */
  waitMs?: number;
  /** Progress lines as things happen. Default: none. */
  log?: (line: string) => void;
}

export interface LeaderInfo {
  proposer: number;
  node: string;
  round: number;
}

export interface ClusterSummary {
  firstLeader: LeaderInfo;
  /** A linearizable read of the last write acknowledged before the kill. */
  firstRead: { key: string; wrote: string; read: unknown };
  killedNode: string;
  newLeader: LeaderInfo;
  /** From the kill to a new leader holding its lease. */
  failoverMs: number;
  /** The killed node once started again and its part of the group re-spawned: its proposer's role, who leads (-1: none known), writes since. */
  restarted: { node: string; role: ProposerStatus['role']; leader: number; writesAfter: number };
  /** Every acknowledged write, and what a linearizable read of its key returned at the end. */
  writes: Array<{ key: string; value: string; afterKill: boolean; readBack: unknown }>;
  /** The new leader's commit index once every live learner caught up. */
  commitIndex: number;
  /** The learners on live nodes: how far each applied, and a digest of its state. */
  learners: Array<{ learner: number; node: string; applied: number; stateDigest: number }>;
}

/**
 * Starts a 5-acceptor, 2-proposer, 3-learner Multi-Paxos group on worker threads, writes through
 * it, kills the leader's thread mid-stream, and shows the other proposer taking over with no
 * acknowledged write lost. Shuts the system down before it returns (or throws).
 */
export async function runCustomCluster(opts: CustomClusterOptions = {}): Promise<ClusterSummary> {
  const log = opts.log ?? (() => undefined);
  const nodes = [...new Set([...LAYOUT.acceptors, ...LAYOUT.proposers, ...LAYOUT.learners])];
  const system = await ActorSystem.start({
    workers: nodes,
    // Each worker imports this module, so it can spawn the Paxos kinds by name.
    modules: [new URL('./kinds.ts', import.meta.url)],
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
  });
  let running = true;
  const unsubscribe = system.onNodeDown((node) => log(`the runtime saw node ${node} go down`));
  try {
    const plan = await spawnGroup(system, nodes, log);
    const waitMs = opts.waitMs ?? 20_000;
    const elected = await waitForLeader(system, plan, [], waitMs);
    log(`leader: proposer ${elected.proposer} on ${elected.node} (ballot round ${elected.round})`);

    // A client id must be new for every run: the replicas remember (client, seq) to apply each
    // command once, and a reused id starting again at seq 1 would look like a stale retry.
    const id = randomUUID().slice(0, 8);
    const writer = startWriter(client(system, plan, `writer-${id}`, () => running), id);
    const reader = client(system, plan, `reader-${id}`, () => running);
    const run: Run = { system, plan, log, waitMs, perPhase: opts.writesPerPhase ?? 20, writer, reader };
    const firstRead = await firstWrites(run);
    const { firstLeader, killedNode, newLeader, failoverMs } = await killTheLeader(run);
    const restarted = await restartKilled(run, killedNode);
    await writer.stop();
    const writes = await readBack(run);
    const { commitIndex, learners } = await learnersCaughtUp(run, newLeader);
    return { firstLeader, firstRead, killedNode, newLeader, failoverMs, restarted, writes, commitIndex, learners };
  } finally {
    running = false;
    unsubscribe();
    await system.shutdown();
  }
}

/** What the steps of a run share. */
interface Run {
  system: ActorSystem;
  plan: GroupPlan;
  log: (line: string) => void;
  waitMs: number;
  perPhase: number;
  writer: Writer;
  reader: PaxosClient;
}

/** Plans the group on `nodes` and spawns each node's part. */
async function spawnGroup(system: ActorSystem, nodes: string[], log: (line: string) => void): Promise<GroupPlan> {
  // A failover waits out the old leader's lease: shorter leases fail over sooner, renew more often.
  const plan = planGroup({ ...LAYOUT, machine: KV_MACHINE, timing: { leaseMs: 1000 } });
  // Actor names are fixed by the plan, so a node started again spawns the same names (the same
  // call, in restartKilled) and they reload their state from its LMDB store.
  for (const n of nodes) await plan.spawnOn(system, n);
  for (const n of nodes) log(`${n}: ${plan.on(n).map((s) => s.name).join(', ')}`);
  return plan;
}

/** Waits for the first writes, and reads the last of them back linearizably. */
async function firstWrites({ writer, reader, log, waitMs, perPhase }: Run): Promise<ClusterSummary['firstRead']> {
  await until(() => writer.acked.length >= perPhase, 'the first writes', waitMs, writer);
  const ackedBefore = writer.acked.length;
  const last = writer.acked[ackedBefore - 1]!;
  const firstRead = { key: last.key, wrote: last.value, read: await reader.read({ op: 'get', key: last.key } satisfies KvQuery) };
  log(`${ackedBefore} writes acknowledged; linearizable read of ${last.key} (written ${JSON.stringify(last.value)}): ${JSON.stringify(firstRead.read)}`);
  return firstRead;
}

/** Kills the leader's node while the writer writes, and waits for a new leader and more writes under it. */
async function killTheLeader({ system, plan, log, waitMs, perPhase, writer }: Run): Promise<Pick<ClusterSummary, 'firstLeader' | 'killedNode' | 'newLeader' | 'failoverMs'>> {
  // Abrupt, like a crash: the thread ends with no flush and no goodbye, taking the leader and
  // one acceptor with it. The write in flight fails over to the other proposer (same seq, so
  // it is applied once even if the old leader got it chosen). Ask again who leads: it is
  // rare, but leadership can move on its own (a slow heartbeat on a busy machine).
  const firstLeader = await waitForLeader(system, plan, [], waitMs);
  const killedNode = firstLeader.node;
  log(`killing ${killedNode}, the leader's node, while the writer keeps writing`);
  writer.killed = true;
  const killedAt = performance.now();
  await system.killNode(killedNode);
  const newLeader = await waitForLeader(system, plan, [killedNode], waitMs);
  const failoverMs = Math.round(performance.now() - killedAt);
  log(`new leader: proposer ${newLeader.proposer} on ${newLeader.node} (ballot round ${newLeader.round}), ${failoverMs} ms after the kill`);

  const ackedAtTakeover = writer.acked.length;
  await until(() => writer.acked.length >= ackedAtTakeover + perPhase, 'writes under the new leader', waitMs, writer);
  return { firstLeader, killedNode, newLeader, failoverMs };
}

/**
 * The killed node comes back: its thread starts again and one call re-spawns its part of the
 * group, which reloads its promises and accepted slots from disk and follows the new leader.
 */
async function restartKilled({ system, plan, log, waitMs, perPhase, writer, reader }: Run, killedNode: string): Promise<ClusterSummary['restarted']> {
  await system.startNode(killedNode);
  await plan.spawnOn(system, killedNode);
  const ackedAtRestart = writer.acked.length;
  await until(() => writer.acked.length >= ackedAtRestart + perPhase, 'writes after the restart', waitMs, writer);
  const restartedProposer = plan.proposers.findIndex((p) => p.node === killedNode);
  // Who leads, by the proposers' own account (undefined if none holds a lease right now).
  const leaderNow = await reader.leader();
  const restarted = {
    node: killedNode,
    role: (await system.ask(plan.proposers[restartedProposer]!, { type: 'status' })).role,
    leader: leaderNow ? plan.proposers.findIndex((p) => p.equals(leaderNow.ref)) : -1,
    writesAfter: writer.acked.length - ackedAtRestart,
  };
  log(`${killedNode} restarted: its proposer is a ${restarted.role}, proposer ${restarted.leader} leads, ${restarted.writesAfter} writes since`);
  return restarted;
}

/** Every acknowledged write, with what a linearizable read of its key returns now. */
async function readBack({ writer, reader, log }: Run): Promise<ClusterSummary['writes']> {
  const writes: ClusterSummary['writes'] = [];
  for (const w of writer.acked) writes.push({ ...w, readBack: await reader.read({ op: 'get', key: w.key } satisfies KvQuery) });
  const lost = writes.filter((w) => w.readBack !== w.value);
  log(`${writes.length} writes acknowledged (${writes.filter((w) => w.afterKill).length} after the kill); lost: ${lost.length}`);
  return writes;
}

/** Waits until the leader has nothing in flight and every live learner applied its commit index; their digests. */
async function learnersCaughtUp({ system, plan, log, waitMs }: Run, newLeader: LeaderInfo): Promise<Pick<ClusterSummary, 'commitIndex' | 'learners'>> {
  const live = plan.learners; // the killed node holds no learner in this layout
  const leaderRef = plan.proposers[newLeader.proposer]!;
  let commitIndex = 0;
  let views: LearnerView[] = [];
  await until(
    async () => {
      const status = await system.ask(leaderRef, { type: 'status' });
      views = await Promise.all(live.map((l) => system.ask(l, { type: 'inspect' })));
      commitIndex = status.commitIndex;
      return status.inflight === 0 && views.every((v) => v.applied === commitIndex);
    },
    'the learners to catch up',
    waitMs,
  );
  const learners = live.map((l, i) => ({
    learner: plan.learners.indexOf(l),
    node: l.node,
    applied: views[i]!.applied,
    stateDigest: hashString(JSON.stringify(views[i]!.state)),
  }));
  for (const l of learners) log(`learner ${l.learner} on ${l.node}: applied ${l.applied} (state digest ${l.stateDigest.toString(16)})`);
  return { commitIndex, learners };
}

function client(system: ActorSystem, plan: GroupPlan, clientId: string, running: () => boolean): PaxosClient {
  return new PaxosClient({
    clientId,
    proposers: plan.proposers,
    ask: (ref, msg, timeoutMs) => system.ask(ref, msg, { timeoutMs }) as Promise<ProposeReply>,
    // Once the system is shut down (say a wait timed out), an operation gives up at its next backoff.
    // The default retries (backoff doubling to 1 s) ride out the failover's lease term and election.
    sleep: (ms) => (running() ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.reject(new Error('the cluster is shut down'))),
  });
}

interface Writer {
  acked: Array<{ key: string; value: string; afterKill: boolean }>;
  /** Set when the leader is killed: later acknowledgements are marked afterKill. */
  killed: boolean;
  failure: unknown;
  stop(): Promise<void>;
}

/** Puts key-0, key-1, … one after another until stopped, remembering each acknowledged write. */
function startWriter(paxos: PaxosClient, run: string): Writer {
  let stopping = false;
  const writer: Writer = {
    acked: [],
    killed: false,
    failure: undefined,
    stop: async () => {
      stopping = true;
      await loop;
      if (writer.failure !== undefined) throw writer.failure;
    },
  };
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const put = { op: 'put', key: `key-${i}`, value: `${run}/${i}` } satisfies KvOp;
      try {
        await paxos.propose(put);
      } catch (err) {
        writer.failure = err; // not acknowledged: it may or may not have been applied
        return;
      }
      writer.acked.push({ key: put.key, value: put.value, afterKill: writer.killed });
    }
  })();
  return writer;
}

/** Polls the proposers on live nodes until one leads with a valid lease. */
async function waitForLeader(system: ActorSystem, plan: GroupPlan, deadNodes: string[], waitMs: number): Promise<LeaderInfo> {
  let found: LeaderInfo | undefined;
  await until(
    async () => {
      const live = plan.proposers.filter((p) => !deadNodes.includes(p.node));
      const statuses = await Promise.all(live.map((p) => system.ask(p, { type: 'status' })));
      const i = statuses.findIndex((s) => s.role === 'leader' && s.leaseValid);
      if (i >= 0) found = { proposer: plan.proposers.indexOf(live[i]!), node: live[i]!.node, round: statuses[i]!.ballot.round };
      return found !== undefined;
    },
    'a leader',
    waitMs,
  );
  return found!;
}

/** Polls `done` every 20 ms; fails after waitMs, or at once if the writer failed. */
async function until(done: () => boolean | Promise<boolean>, what: string, waitMs: number, writer?: Writer): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    if (writer?.failure !== undefined) throw writer.failure;
    if (await done()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${waitMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
