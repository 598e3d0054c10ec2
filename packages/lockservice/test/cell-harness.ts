import { expect } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import { type ClientId, type LockInput, type LockOutput, type Operation, SimCluster, Sleeper, UNKNOWN } from '@actorfs/actors/testing';
import { PaxosClient, type ProposeReply } from '@actorfs/paxos';
import { cellConfig, cellMachine, checkInvariants, ClientSession, LockDb, LsClient, LsClientError, planCell, type CellOptions, type CellPlan, type ClientMsg, type LsMachine, type MasterTerm } from '../src/index.ts';

/** Short timings for simulated cells: 1 s session lease, 3 s grace, 1 s lock-delay, 200 ms Paxos lease. */
export const SIM_CELL: CellOptions = {
  nodes: ['n0', 'n1', 'n2', 'n3', 'n4'],
  defaultLockDelayMs: 1000,
  timing: { leaseMs: 1000, answerBeforeEndMs: 200, gracePeriodMs: 3000, driftMs: 50, requestTimeoutMs: 500 },
  paxos: { leaseMs: 200 },
};

/** A simulated cell: every replica node booted with its actors, and a client node. */
export function simCell(sim: SimCluster, opts: CellOptions = SIM_CELL, cell = 'test'): CellPlan {
  const plan = planCell(cellConfig(cell, opts));
  for (const n of plan.config.nodes) sim.addNode(n, { boot: (node) => plan.on(n).forEach((s) => node.spawn(s.kind, s.props, { name: s.name })) });
  return plan;
}

/**
 * A client session on `node` (added if missing). Its promise API runs the simulator until each
 * answer comes (`drive`), or, for clients working at once, only asks, and one loop runs the
 * simulator for all (see Sleeper).
 */
export function simClient(sim: SimCluster, plan: CellPlan, node: string, name: string, mode: 'drive' | 'ask' = 'drive', principal = 'alice'): LsClient {
  if (!sim.nodeNames().includes(node)) sim.addNode(node);
  const ref: ActorRef<ClientMsg> = sim.spawn(node, ClientSession, { config: plan.config, servers: plan.servers, principal }, { name });
  const opts = { timeoutMs: 120_000 };
  return new LsClient(ref, (r, msg) => (mode === 'drive' ? sim.call(r, msg as ClientMsg & { type: 'status' }, opts) : sim.ask(r, msg as ClientMsg & { type: 'status' }, opts)));
}

export interface SimCellOptions {
  /** How many clients: a, b, c, … on nodes c0, c1, c2, … (default 1). */
  clients?: number;
  cell?: CellOptions;
  /**
   * `ask` (default): the clients only ask, and the simulation runs while the body works, for at
   * most `maxMs` of virtual time. `drive`: each call of a client, and the body, drives it.
   */
  mode?: 'ask' | 'drive';
  maxMs?: number;
}

/** What a test body run in a simulated cell gets besides its clients. */
export interface SimCellRun {
  sim: SimCluster;
  plan: CellPlan;
  /** Sleeps in virtual time, in `ask` mode. */
  clock: Sleeper;
}

/**
 * Runs `body` against a fresh simulated cell at `seed` with its clients (passed after the run).
 * Gives the cell back, for checks that drive the simulation themselves.
 */
export async function inSimCell(seed: number, body: (run: SimCellRun, ...clients: LsClient[]) => Promise<void>, opts: SimCellOptions = {}): Promise<SimCellRun> {
  const mode = opts.mode ?? 'ask';
  const sim = new SimCluster({ seed });
  const plan = simCell(sim, opts.cell);
  const clock = new Sleeper(sim);
  const clients = Array.from({ length: opts.clients ?? 1 }, (_, i) => simClient(sim, plan, `c${i}`, String.fromCharCode(97 + i), mode));
  const done = body({ sim, plan, clock }, ...clients);
  if (mode === 'ask') expect(await clock.run(done, opts.maxMs ?? 60_000)).toBe(true);
  await done;
  return { sim, plan, clock };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * A client of the cell's Paxos group itself, proposing straight to it as a master does: what a
 * deposed master's last proposals, or its Paxos client still retrying, look like to the cell.
 */
export function groupClient(sim: SimCluster, plan: CellPlan, clock: Sleeper, clientId = 'deposed-master'): PaxosClient<LsMachine> {
  return new PaxosClient({
    clientId,
    machine: cellMachine(plan.config.db),
    proposers: plan.paxos.proposers,
    ask: (ref, msg, timeoutMs) => sim.ask(ref, msg, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => clock.sleep(ms),
    timeoutMs: 1000,
  });
}

/** Every replica's database, rebuilt from its learner's state, checked with checkInvariants. */
export async function replicaProblems(sim: SimCluster, plan: CellPlan): Promise<string[]> {
  const problems: string[] = [];
  for (const l of plan.paxos.learners) {
    if (!sim.isUp(l.node)) continue;
    const view = await sim.call(l, { type: 'inspect' });
    const db = new LockDb(plan.config.db);
    db.restore(view.state);
    problems.push(...checkInvariants(db.inspect()).map((p) => `${l.node}: ${p}`));
  }
  return problems;
}

/**
 * The node of the current master, once it serves (a server that names itself: one whose node
 * leads but has not yet begun its term names the leader too, and answers NOT_MASTER). Asks only:
 * something else runs the simulation.
 */
export async function masterNode(sim: SimCluster, plan: CellPlan): Promise<string | undefined> {
  for (const s of plan.servers) {
    if (!sim.isUp(s.node)) continue;
    const r = await sim.ask(s, { type: 'whoIsMaster' }, { timeoutMs: 1000 }).catch(() => ({ master: null }));
    if (r.master?.node === s.node) return s.node;
  }
  return undefined;
}

/** The database as the first live replica holds it. `call` drives the simulation; `ask` needs something else to run it. */
export async function cellDb(sim: SimCluster, plan: CellPlan, mode: 'call' | 'ask' = 'ask'): Promise<LockDb> {
  const learner = plan.paxos.learners.find((l) => sim.isUp(l.node))!;
  const view = mode === 'call' ? await sim.call(learner, { type: 'inspect' }) : await sim.ask(learner, { type: 'inspect' }, { timeoutMs: 1000 });
  const db = new LockDb(plan.config.db);
  db.restore(view.state);
  return db;
}

/** The newest master term the database has recorded (asks only). */
export async function recordedTerm(sim: SimCluster, plan: CellPlan): Promise<MasterTerm> {
  return (await cellDb(sim, plan)).inspect().masterTerm;
}

/**
 * A session that expired lost its lock at a moment no client saw: some time after its holder's
 * last successful call began (nothing of it succeeds after its expiry), so each such holder gets
 * an `expire` of unknown outcome from then on, by a process of its own.
 */
export function withExpiries(ops: Operation<LockInput<string>, LockOutput>[], ended: ClientId[]): Operation<LockInput<string>, LockOutput>[] {
  const expiries = ended.map((holder): Operation<LockInput<string>, LockOutput> => {
    const succeeded = ops.filter((o) => o.input.holder === holder && o.ret !== Infinity).map((o) => o.call);
    return { clientId: `expiry-${holder}`, input: { op: 'expire', holder }, output: UNKNOWN, call: Math.max(-1, ...succeeded) + 0.5, ret: Infinity };
  });
  return [...ops, ...expiries];
}

/** A call's outcome unknown (timeout, no master) vs refused for good. */
export const unavailable = (err: unknown): boolean => err instanceof LsClientError && err.code === 'UNAVAILABLE';

/** An open whose outcome is unknown is tried again (at worst a handle is left open). */
export async function openRetrying(c: LsClient, path: string, create: 'ifAbsent' | 'never' = 'ifAbsent'): Promise<number> {
  for (;;) {
    try {
      return (await c.open(path, { create })).handle;
    } catch (err) {
      if (!unavailable(err)) throw err;
    }
  }
}
