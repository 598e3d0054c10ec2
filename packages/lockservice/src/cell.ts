import { ActorRef } from '@actorfs/actors';
import { planGroup, type ActorSpec, type GroupPlan, type PaxosTiming } from '@actorfs/paxos';
import { lsConfig, type LsConfig, type LsLimits } from './config.ts';
import { cellMachine } from './machine.ts';
import { Server, type ServerProps } from './server.ts';
import type { ServerMsg } from './server-protocol.ts';

/** The timings of a cell's sessions (the master's side and the client's). */
export interface CellTiming {
  /** Session lease. Chubby's default: 12 s. */
  leaseMs: number;
  /** A held KeepAlive is answered this long before the lease ends. */
  answerBeforeEndMs: number;
  /** How long a client in jeopardy looks for a master before it gives its session up. Default 45 s. */
  gracePeriodMs: number;
  /** Taken off each lease on the client, for clock-rate differences. */
  driftMs: number;
  /** Events queued per session without a KeepAlive to carry them. */
  maxPendingEvents: number;
  /** Blocking acquires queued per lock and in all; one more is refused (TOO_MANY_WAITERS). */
  maxWaitersPerLock: number;
  maxWaiters: number;
  /** Per request from a client to the master (a blocking acquire adds its own timeout). */
  requestTimeoutMs: number;
  /** A client ends its session after this long with no open handles and no call (Chubby: a minute); 0 never. */
  idleSessionMs: number;
}

export const DEFAULT_CELL_TIMING: CellTiming = {
  leaseMs: 12_000,
  answerBeforeEndMs: 1_000,
  gracePeriodMs: 45_000,
  driftMs: 100,
  maxPendingEvents: 1_000,
  maxWaitersPerLock: 10_000,
  maxWaiters: 100_000,
  requestTimeoutMs: 5_000,
  idleSessionMs: 60_000,
};

/**
 * The cell's Paxos group, unless the config says otherwise.
 * - The master proposes for every client through one Paxos session, so the session's window bounds
 *   the cell's commands in flight: it is wide (the group keeps at most this many outcomes for it).
 * - One slot in flight: the commands that arrive while it is accepted share the next one (one
 *   Accept round and one synced write per acceptor for them all) instead of taking a slot each.
 *   Each slot costs every acceptor a sync of its own, and one acceptor's syncs do not overlap, so
 *   more slots in flight only queue more syncs (16 clients: 1 slot in flight, 7.8 commands a slot,
 *   1.8x the cycles of 4 slots in flight with 2.5 commands a slot). With 2, a command that finds
 *   one slot out starts the second alone, so slots alternate between one command and the rest
 *   (4.3 commands a slot, 1.85 syncs a cycle against 1.1) for no more cycles.
 *   The cost of 1 would be that the next slot starts in the turn the last is chosen, so the
 *   commands its answers set free miss it; the linger (batchLingerMs, bounded by a slot's commit
 *   time) holds the next slot for them.
 * - A 5-replica cell needs 3 synced accepts; on one shared disk they take about as long as the
 *   Paxos default wait before the Accept goes to the other two as well (5 ms), so it waits longer.
 */
export const CELL_PAXOS_DEFAULTS: Partial<PaxosTiming> = { sessionWindow: 4_096, maxInflightSlots: 1, thriftyWaitMs: 15, batchLingerMs: 8 };

/** One cell, as the tests, the examples and the bench describe it. */
export interface CellConfig {
  db: LsConfig;
  /** The node of each replica: 3 or 5 (default 5). */
  nodes: string[];
  timing: CellTiming;
  paxos: Partial<PaxosTiming>;
}

export interface CellOptions {
  nodes?: string[];
  defaultLockDelayMs?: number;
  limits?: Partial<LsLimits>;
  timing?: Partial<CellTiming>;
  paxos?: Partial<PaxosTiming>;
}

/** A cell's config with defaults filled in; throws, naming the problem, for one that cannot work. */
export function cellConfig(cell: string, opts: CellOptions = {}): CellConfig {
  const nodes = opts.nodes ?? Array.from({ length: 5 }, (_, i) => `${cell}-${i}`);
  if (nodes.length !== 3 && nodes.length !== 5) throw new Error(`lock service: a cell has 3 or 5 replicas, got ${nodes.length}`);
  if (new Set(nodes).size !== nodes.length) throw new Error(`lock service: replica nodes must differ, got ${nodes.join(', ')}`);
  const timing = { ...DEFAULT_CELL_TIMING, ...opts.timing };
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`lock service: timing ${name} must be a non-negative integer, got ${value}`);
  }
  if (timing.answerBeforeEndMs >= timing.leaseMs) throw new Error(`lock service: answerBeforeEndMs (${timing.answerBeforeEndMs}) must be below leaseMs (${timing.leaseMs})`);
  if (timing.driftMs >= timing.leaseMs) throw new Error(`lock service: driftMs (${timing.driftMs}) must be below leaseMs (${timing.leaseMs})`);
  const db = lsConfig(cell, { limits: opts.limits ?? {}, ...(opts.defaultLockDelayMs === undefined ? {} : { defaultLockDelayMs: opts.defaultLockDelayMs }) });
  return { db, nodes, timing, paxos: { ...CELL_PAXOS_DEFAULTS, ...opts.paxos } };
}

export interface CellPlan {
  config: CellConfig;
  paxos: GroupPlan;
  /** The lock-service server of each replica (same index as its node). */
  servers: ActorRef<ServerMsg>[];
  specs: ActorSpec[];
  /** The actors of one node, in spawn order (spawn them at each start of that node). */
  on(node: string): ActorSpec[];
}

/**
 * Every actor of a cell: on each replica node a Paxos acceptor, proposer and learner whose machine
 * is the cell's database, then the lock-service server (last: it subscribes to the other two).
 */
export function planCell(config: CellConfig): CellPlan {
  const machine = cellMachine(config.db);
  const name = `ls-${config.db.cell}`;
  const paxos = planGroup({ name, acceptors: config.nodes, proposers: config.nodes, learners: config.nodes, machine, timing: config.paxos });
  const servers = config.nodes.map((n) => new ActorRef<ServerMsg>(n, `${name}-server`));
  const serverSpecs: ActorSpec[] = servers.map((ref, index) => {
    const props: ServerProps = { config, index, servers, proposers: paxos.proposers, learner: paxos.learners[index]! };
    return { node: ref.node, name: ref.id, kind: Server as unknown as ActorSpec['kind'], props };
  });
  const specs = [...paxos.specs, ...serverSpecs];
  return { config, paxos, servers, specs, on: (node) => specs.filter((s) => s.node === node) };
}
