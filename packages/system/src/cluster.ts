import { join } from 'node:path';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { planGfsCluster, type ChunkserverMsg, type GfsClusterPlan, type LockCellRef, type MasterReplica } from '@actorfs/gfs';
import { planCell, type CellPlan } from '@actorfs/lockservice';
import { cellOf, gfsClusterOf, type SystemConfig } from './config.ts';

/** How often awaitMaster asks the replicas. */
const MASTER_POLL_MS = 500;

/** What runs on a worker node of the system: a GFS master replica that may lead (the master or a synchronous backup), or a shadow. */
export type Role = { kind: 'lock-replica'; index: number } | { kind: 'gfs-master' } | { kind: 'gfs-shadow' } | { kind: 'chunkserver'; rack: string; capacityBytes: number };

/** Every node, in start order, with its role: the lock cell first (the GFS master replicas elect through it). */
export function rolesOf(config: SystemConfig): Map<string, Role> {
  const roles = new Map<string, Role>();
  config.lockCell.nodes.forEach((node, index) => roles.set(node, { kind: 'lock-replica', index }));
  for (const node of config.gfs.masters) roles.set(node, { kind: 'gfs-master' });
  for (const node of config.gfs.shadows) roles.set(node, { kind: 'gfs-shadow' });
  for (const cs of config.gfs.chunkservers) roles.set(cs.name, { kind: 'chunkserver', rack: cs.rack, capacityBytes: cs.capacityBytes });
  return roles;
}

/**
 * The system's actors on worker threads: a lock-service cell (a replica per node), GFS master
 * replicas (elected through the cell; the others are synchronous backups or shadows) and
 * chunkservers. Refs are fixed names, so they are known before anything is spawned and stay
 * valid when a node is killed and started again (its actors then reload their LMDB).
 */
export class Cluster {
  readonly roles: Map<string, Role>;
  readonly cell: CellPlan;
  readonly gfs: GfsClusterPlan;
  /** The lock cell as GFS nodes reach it: the master replicas elect through it, and clients find the master there. */
  readonly lock: LockCellRef;
  /** Every GFS master replica, those that may lead first, then the shadows. */
  readonly masters: MasterReplica[];
  readonly chunkservers: Map<string, ActorRef<ChunkserverMsg>>;

  private constructor(
    readonly system: ActorSystem,
    readonly config: SystemConfig,
  ) {
    this.roles = rolesOf(config);
    this.cell = planCell(cellOf(config));
    this.lock = { config: this.cell.config, servers: this.cell.servers };
    this.gfs = planGfsCluster(gfsClusterOf(config), { lock: this.lock, backups: config.gfs.masters, shadows: config.gfs.shadows });
    this.masters = this.gfs.replicas;
    this.chunkservers = this.gfs.chunkservers;
  }

  /** Starts every node's thread and spawns its actors; a failure stops what was started. */
  static async start(config: SystemConfig): Promise<Cluster> {
    const roles = rolesOf(config);
    const system = await ActorSystem.start({
      workers: [...roles.keys()],
      dataDir: join(config.dataDir, 'nodes'),
      modules: [new URL('./kinds.ts', import.meta.url)],
    });
    const cluster = new Cluster(system, config);
    try {
      for (const node of roles.keys()) await cluster.spawnRole(node);
    } catch (err) {
      await system.shutdown();
      throw err;
    }
    return cluster;
  }

  /**
   * Waits until a GFS master replica is in office and answers its name and lock generation, or
   * null after `timeoutMs`. After a restart the previous run's master lock is free only once its
   * lock-service session ends (lease and grace period) and the lock-delay passes.
   */
  async awaitMaster(timeoutMs: number): Promise<{ name: string; generation: number | null } | null> {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, MASTER_POLL_MS))) {
      for (const r of this.masters.filter((m) => m.role === 'backup' && this.isUp(m.ref.node))) {
        const s = await this.system.ask(r.ref, { type: 'ha-status' }, { timeoutMs: MASTER_POLL_MS }).catch(() => null);
        if (s?.role === 'master') return { name: s.replica, generation: s.generation };
      }
    }
    return null;
  }

  isUp(node: string): boolean {
    return this.system.nodes().includes(node);
  }

  /** Abrupt, as a crash: the node's thread exits, its unsynced writes are lost. */
  async killNode(node: string): Promise<void> {
    this.roleOf(node);
    if (!this.isUp(node)) throw new Error(`node ${node} is already down`);
    await this.system.killNode(node);
  }

  /** Starts a killed node's thread again and spawns its actors, which reload their storage. */
  async restartNode(node: string): Promise<void> {
    this.roleOf(node);
    if (this.isUp(node)) throw new Error(`node ${node} is running; kill it first`);
    await this.system.startNode(node);
    await this.spawnRole(node);
  }

  async shutdown(): Promise<void> {
    await this.system.shutdown();
  }

  roleOf(node: string): Role {
    const role = this.roles.get(node);
    if (!role) throw new UnknownNodeError(node, [...this.roles.keys()]);
    return role;
  }

  private async spawnRole(node: string): Promise<void> {
    const role = this.roleOf(node);
    switch (role.kind) {
      case 'lock-replica':
        for (const s of this.cell.on(node)) await this.system.spawn(s.kind, s.props, { node: s.node, name: s.name });
        return;
      case 'gfs-master':
      case 'gfs-shadow':
      case 'chunkserver':
        return this.gfs.spawnOn(this.system, node);
      default: {
        const never: never = role;
        throw new Error(`unknown role ${JSON.stringify(never)}`);
      }
    }
  }
}

export class UnknownNodeError extends Error {
  constructor(node: string, known: string[]) {
    super(`no node ${JSON.stringify(node)}; the nodes are ${known.join(', ')}`);
    this.name = 'UnknownNodeError';
  }
}
