import type { NodeStats } from '@actorfs/actors';
import type { HaStatus, MasterReplica, MasterStatus, ShadowAnswer } from '@actorfs/gfs';
import type { LearnerStatus, ProposerStatus } from '@actorfs/paxos';
import type { Cluster, Role } from './cluster.ts';
import { queryCell } from './cell-query.ts';
import type { HeldLock, LockClients } from './locks.ts';
import type { OpsRate } from './ops-rate.ts';

/** A status read waits this long for a node; a node that does not answer shows as unknown. */
const STATUS_TIMEOUT_MS = 1_000;

export interface NodeStatus {
  name: string;
  role: Role['kind'];
  up: boolean;
  stats: NodeStats | null;
}

export interface ReplicaStatus {
  node: string;
  up: boolean;
  role: ProposerStatus['role'] | 'unknown';
  leaseValid: boolean;
  /** When its leader lease ends (ms since the epoch, this process's clock; null when it holds none). */
  leaseUntil: number | null;
  commitIndex: number | null;
  applied: number | null;
}

export interface ChunkserverStatus {
  name: string;
  rack: string;
  /** Its thread runs. */
  up: boolean;
  /** The master hears its heartbeats. */
  live: boolean;
  usedBytes: number;
  capacityBytes: number;
  chunks: number;
}

/** A GFS master replica as it answers: its role now, its log position and how far behind the master it is. */
export interface MasterReplicaStatus {
  node: string;
  up: boolean;
  /** What it was configured as: may lead (master or synchronous backup), or a shadow. */
  configured: MasterReplica['role'];
  /** What it is now, as it says; unknown when it does not answer. */
  role: HaStatus['role'] | 'unknown';
  /** The lock generation it serves under (the master only). */
  generation: number | null;
  /** Sequence number of the newest record in its op log. */
  logPosition: number | null;
  /** Records the master has that it has not (0 on the master). */
  lagRecords: number | null;
  /** How long since it last had every record of the master, as it knows (0 on the master). */
  lagMs: number | null;
  /** On the master's in-sync list: the master waits for it before acknowledging a mutation. */
  inSync: boolean;
}

export interface SystemStatus {
  at: number;
  startedAt: number;
  nodes: NodeStatus[];
  lockCell: {
    cell: string;
    master: string | null;
    replicas: ReplicaStatus[];
    /** Live sessions in the cell's database. */
    sessions: number | null;
    clients: Array<{ client: string; session: number | null; state: string; master: string | null }>;
    locksHeld: HeldLock[];
  };
  gfs: {
    /** The replica in office (null during a failover) and its lock generation. */
    master: { node: string | null; generation: number | null };
    /** Files, chunks and chunkservers as the master sees them (as a backup sees them while no master is in office). */
    status: MasterStatus | null;
    replicas: MasterReplicaStatus[];
    chunkservers: ChunkserverStatus[];
    bytesStored: number;
  };
  ops: Array<[number, number]>;
}

/** One look at every part of the system, each read bounded by a timeout so a dead node never stalls it. */
export async function readStatus(cluster: Cluster, locks: LockClients, ops: OpsRate, startedAt: number): Promise<SystemStatus> {
  const within = <T>(p: Promise<T>): Promise<T | null> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), STATUS_TIMEOUT_MS);
    });
    return Promise.race([p.catch(() => null), late]).finally(() => clearTimeout(timer));
  };
  const ask = cluster.system.ask.bind(cluster.system);
  const up = (node: string): boolean => cluster.isUp(node);

  const [nodes, replicas, masterReplicas, sessions, held, clients] = await Promise.all([
    Promise.all([...cluster.roles].map(async ([name, role]): Promise<NodeStatus> => ({ name, role: role.kind, up: up(name), stats: up(name) ? await within(cluster.system.stats(name)) : null }))),
    Promise.all(
      cluster.cell.config.nodes.map(async (node, i): Promise<ReplicaStatus> => {
        const [p, l] = up(node)
          ? await Promise.all([within<ProposerStatus>(ask(cluster.cell.paxos.proposers[i]!, { type: 'status' })), within<LearnerStatus>(ask(cluster.cell.paxos.learners[i]!, { type: 'status' }))])
          : [null, null];
        return { node, up: up(node), role: p?.role ?? 'unknown', leaseValid: p?.leaseValid ?? false, leaseUntil: p?.leaseValid ? Math.round(Date.now() + p.leaseRemainingMs) : null, commitIndex: p?.commitIndex ?? null, applied: l?.applied ?? null };
      }),
    ),
    Promise.all(cluster.masters.map((r) => replicaAnswers(cluster, r, within))),
    within(queryCell(cluster, { type: 'sessionCount' })),
    within(locks.allHeld()),
    within(locks.sessions()),
  ]);
  const leader = replicas.find((r) => r.role === 'leader' && r.leaseValid);
  const inOffice = masterReplicas.find((r) => r.ha?.role === 'master');
  const reporter = inOffice ?? masterReplicas.find((r) => r.ha !== null);
  const masterStatus = reporter ? await within(ask(reporter.replica.ref, { type: 'status' })) : null;
  const live = new Map((masterStatus?.servers ?? []).map((s) => [s.id, s]));
  const chunkservers = [...cluster.roles]
    .filter((entry): entry is [string, Extract<Role, { kind: 'chunkserver' }>] => entry[1].kind === 'chunkserver')
    .map(([name, role]): ChunkserverStatus => {
      const seen = live.get(name);
      return { name, rack: role.rack, up: up(name), live: seen !== undefined, usedBytes: seen?.usedBytes ?? 0, capacityBytes: role.capacityBytes, chunks: seen?.chunks ?? 0 };
    });
  return {
    at: Date.now(),
    startedAt,
    nodes,
    lockCell: { cell: cluster.cell.config.db.cell, master: leader?.node ?? null, replicas, sessions: sessions?.count ?? null, clients: clients ?? [], locksHeld: held ?? [] },
    gfs: {
      master: { node: inOffice?.replica.name ?? null, generation: inOffice?.ha?.generation ?? null },
      status: masterStatus,
      replicas: masterReplicas.map((r) => replicaStatus(r, inOffice?.ha ?? null, up(r.replica.ref.node))),
      chunkservers,
      bytesStored: chunkservers.reduce((sum, c) => sum + c.usedBytes, 0),
    },
    ops: ops.series(),
  };
}


interface ReplicaAnswers {
  replica: MasterReplica;
  ha: HaStatus | null;
  lag: ShadowAnswer<unknown> | null;
}

/** A master replica's role and log position, and its lag as it knows it (from a shadow read of the root). */
async function replicaAnswers(cluster: Cluster, replica: MasterReplica, within: <T>(p: Promise<T>) => Promise<T | null>): Promise<ReplicaAnswers> {
  if (!cluster.isUp(replica.ref.node)) return { replica, ha: null, lag: null };
  const [ha, lag] = await Promise.all([
    within(cluster.system.ask(replica.ref, { type: 'ha-status' })),
    within<ShadowAnswer<unknown>>(cluster.system.ask(replica.ref, { type: 'shadow-read', read: { type: 'stat', path: '/' } })),
  ]);
  return { replica, ha, lag };
}

function replicaStatus(r: ReplicaAnswers, master: HaStatus | null, up: boolean): MasterReplicaStatus {
  const logPosition = r.ha?.lastSeq ?? null;
  // against the master's log as read now, when one is in office; else as the replica last heard
  const lagRecords = logPosition === null ? null : master ? Math.max(0, master.lastSeq - logPosition) : (r.lag?.lagRecords ?? null);
  return {
    node: r.replica.name,
    up,
    configured: r.replica.role,
    role: r.ha?.role ?? 'unknown',
    generation: r.ha?.generation ?? null,
    logPosition,
    lagRecords,
    lagMs: r.lag ? Math.round(r.lag.lagMs) : null,
    inSync: master?.inSync.includes(r.replica.name) ?? false,
  };
}
