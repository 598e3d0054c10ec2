import type { NodeStats } from '@actorfs/actors';
import type { MasterStatus } from '@actorfs/gfs';
import type { LearnerStatus, ProposerStatus } from '@actorfs/paxos';
import type { Cluster, Role } from './cluster.ts';
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
    master: { node: string; up: boolean; status: MasterStatus | null };
    /** The backup and shadow masters, once the system runs them. */
    backups: Array<{ node: string; role: 'backup' | 'shadow'; up: boolean; logPosition: number | null }>;
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

  const [nodes, replicas, masterStatus, sessions, clients] = await Promise.all([
    Promise.all([...cluster.roles].map(async ([name, role]): Promise<NodeStatus> => ({ name, role: role.kind, up: up(name), stats: up(name) ? await within(cluster.system.stats(name)) : null }))),
    Promise.all(
      cluster.cell.config.nodes.map(async (node, i): Promise<ReplicaStatus> => {
        const [p, l] = up(node)
          ? await Promise.all([within<ProposerStatus>(ask(cluster.cell.paxos.proposers[i]!, { type: 'status' })), within<LearnerStatus>(ask(cluster.cell.paxos.learners[i]!, { type: 'status' }))])
          : [null, null];
        return { node, up: up(node), role: p?.role ?? 'unknown', leaseValid: p?.leaseValid ?? false, commitIndex: p?.commitIndex ?? null, applied: l?.applied ?? null };
      }),
    ),
    up(cluster.master.node) ? within(ask(cluster.master, { type: 'status' })) : Promise.resolve(null),
    liveSessions(cluster, within),
    within(locks.sessions()),
  ]);
  const leader = replicas.find((r) => r.role === 'leader' && r.leaseValid);
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
    lockCell: { cell: cluster.cell.config.db.cell, master: leader?.node ?? null, replicas, sessions, clients: clients ?? [], locksHeld: locks.allHeld() },
    gfs: {
      master: { node: cluster.master.node, up: up(cluster.master.node), status: masterStatus },
      backups: [],
      chunkservers,
      bytesStored: chunkservers.reduce((sum, c) => sum + c.usedBytes, 0),
    },
    ops: ops.series(),
  };
}

/** The live sessions in the cell's database, read at the master under its lease. */
async function liveSessions(cluster: Cluster, within: <T>(p: Promise<T>) => Promise<T | null>): Promise<number | null> {
  for (const server of cluster.cell.servers) {
    if (!cluster.isUp(server.node)) continue;
    const reply = await within(cluster.system.ask(server, { type: 'query', query: { type: 'sessionCount' } }));
    if (reply?.ok) return (reply.result as { count: number }).count;
  }
  return null;
}
