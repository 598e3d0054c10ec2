import { ActorRef, type ActorKind } from '@actorfs/actors';
import { Chunkserver, type ChunkserverProps } from './chunkserver/chunkserver-actor.ts';
import { gfsConfig, type GfsConfig } from './config.ts';
import type { ServerId } from './master/chunk-locations.ts';
import { ClientSession, type ClientSessionProps } from './client/session.ts';
import { Master, type MasterProps } from './master/master-actor.ts';
import type { ClientMsg } from './client/protocol.ts';
import type { HaTiming, LockCellRef, MasterReplica } from './ha/ha-config.ts';
import { planMasterReplicas } from './ha/plan.ts';
import type { ChunkserverMsg, MasterMsg } from './protocol.ts';

/** One chunkserver of a cluster: its id, the node it runs on, its rack and its disk. */
export interface ChunkserverPlace {
  server: ServerId;
  node: string;
  rack: string;
  capacityBytes: number;
}

/** One GFS cluster, as the tests, the example, the bench and the whole system describe it. */
export interface GfsClusterConfig {
  /** Every size and timeout, defaults filled (see GfsConfig). */
  gfs: GfsConfig;
  masterNode: string;
  chunkservers: ChunkserverPlace[];
}

export interface GfsClusterOptions {
  /** Default `${name}-master`. */
  masterNode?: string;
  /** How many chunkservers (default 3, named cs1, cs2, … on nodes `${name}-cs1`, …), or each one's place. */
  chunkservers?: number | Array<Partial<ChunkserverPlace>>;
  /** Racks the numbered chunkservers are spread over in turn. Default one rack per chunkserver. */
  racks?: string[];
  /** Each chunkserver's disk, unless its place says. Default 1 TiB. */
  capacityBytes?: number;
  config?: Partial<GfsConfig>;
}

const TIB = 2 ** 40;

/** A cluster's config with defaults filled in; throws, naming the problem, for one that cannot work. */
export function gfsClusterConfig(name: string, opts: GfsClusterOptions = {}): GfsClusterConfig {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) throw new Error(`gfs cluster: bad name ${JSON.stringify(name)} (letters, digits, - and _)`);
  const gfs = gfsConfig(opts.config);
  const places: Array<Partial<ChunkserverPlace>> = typeof opts.chunkservers === 'number' || opts.chunkservers === undefined ? Array.from({ length: opts.chunkservers ?? 3 }, () => ({})) : opts.chunkservers;
  if (places.length === 0) throw new Error('gfs cluster: at least one chunkserver');
  const racks = opts.racks ?? places.map((_, i) => `rack${i + 1}`);
  if (racks.length === 0) throw new Error('gfs cluster: racks is empty');
  const chunkservers = places.map((p, i): ChunkserverPlace => {
    const server = p.server ?? `cs${i + 1}`;
    return { server, node: p.node ?? `${name}-${server}`, rack: p.rack ?? racks[i % racks.length]!, capacityBytes: p.capacityBytes ?? opts.capacityBytes ?? TIB };
  });
  const masterNode = opts.masterNode ?? `${name}-master`;
  const nodes = [masterNode, ...chunkservers.map((c) => c.node)];
  if (new Set(nodes).size !== nodes.length) throw new Error(`gfs cluster: the master and each chunkserver need nodes of their own, got ${nodes.join(', ')}`);
  if (new Set(chunkservers.map((c) => c.server)).size !== chunkservers.length) throw new Error('gfs cluster: chunkserver ids must differ');
  for (const c of chunkservers) {
    if (!(Number.isSafeInteger(c.capacityBytes) && c.capacityBytes > 0)) throw new Error(`gfs cluster: ${c.server}'s capacityBytes must be a positive integer, got ${c.capacityBytes}`);
  }
  return { gfs, masterNode, chunkservers };
}

/** One actor to spawn: `system.spawn(s.kind, s.props, { node: s.node, name: s.name })`. */
export interface GfsActorSpec {
  node: string;
  name: string;
  kind: ActorKind<unknown, unknown>;
  props: unknown;
}

/** What spawning needs of an ActorSystem (worker threads) or of a simulated node. */
export interface GfsSpawner {
  spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: { node: string; name: string }): Promise<ActorRef<M>>;
}
export interface NodeSpawner {
  spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: { name: string }): ActorRef<M>;
}

/** A highly available master for planGfsCluster: replicas on nodes of their own, elected through a lock-service cell. */
export interface GfsHaOptions {
  lock: LockCellRef;
  /** The nodes of the replicas that may lead: the one that wins the lock is the master, the others its synchronous backups. */
  backups: string[];
  /** The nodes of read-only shadows. */
  shadows?: string[];
  timing?: Partial<HaTiming>;
}

export interface GfsClusterPlan {
  config: GfsClusterConfig;
  /** The master (with HA: the first replica, which chunkservers and clients ask until the lock service names the master). */
  master: ActorRef<MasterMsg>;
  /** The master replicas, with HA (backups first, then shadows); empty without. */
  replicas: MasterReplica[];
  chunkservers: Map<ServerId, ActorRef<ChunkserverMsg>>;
  /** Every node of the cluster, the master's first. */
  nodes: string[];
  specs: GfsActorSpec[];
  /** The actors of one node (spawn them at each start of that node: the same names reload their storage). */
  on(node: string): GfsActorSpec[];
  /** Spawns one node's actors on an ActorSystem, at its first start or after a restart. */
  spawnOn(system: GfsSpawner, node: string): Promise<void>;
  /** Spawns one node's actors on a node of the simulator (its boot function). */
  boot(node: string, host: NodeSpawner): void;
  /** A client session's props (spawn ClientSession with them anywhere; wrap its ref in a GfsClient). */
  clientProps(rack?: string): ClientSessionProps;
  /** Spawns a client session on `node` (default the main thread's). */
  spawnClient(system: GfsSpawner, name: string, opts?: { node?: string; rack?: string }): Promise<ActorRef<ClientMsg>>;
}

/** The modules a worker node loads to run the cluster's actors (ActorSystem.start's `modules`). */
export const GFS_MODULES: readonly URL[] = [
  new URL('./master/master-actor.ts', import.meta.url),
  new URL('./chunkserver/chunkserver-actor.ts', import.meta.url),
  new URL('./client/session.ts', import.meta.url),
];

/**
 * Where each actor of a cluster runs. Refs are known before anything is spawned, so each actor gets its peers in its props.
 * With `ha`, the master is replicated (planMasterReplicas) on ha's nodes instead of config.masterNode, and chunkservers and
 * clients find it through the lock service.
 */
export function planGfsCluster(config: GfsClusterConfig, ha?: GfsHaOptions): GfsClusterPlan {
  const { master, replicas, specs } = ha ? replicatedMaster(config, ha) : singleMaster(config);
  const lockProps = ha ? { lock: ha.lock } : undefined;
  const chunkservers = new Map<ServerId, ActorRef<ChunkserverMsg>>();
  for (const c of config.chunkservers) {
    const ref = new ActorRef<ChunkserverMsg>(c.node, 'gfs-chunkserver');
    chunkservers.set(c.server, ref);
    const props: ChunkserverProps = { server: c.server, rack: c.rack, master, capacityBytes: c.capacityBytes, config: config.gfs, ...(ha ? { ha: { lock: ha.lock, replicas: replicas.map((r) => r.ref) } } : {}) };
    specs.push({ node: c.node, name: ref.id, kind: Chunkserver as unknown as GfsActorSpec['kind'], props });
  }
  const on = (node: string): GfsActorSpec[] => specs.filter((s) => s.node === node);
  const clientProps = (rack?: string): ClientSessionProps => ({ master, config: config.gfs, ...(rack === undefined ? {} : { rack }), ...(lockProps ? { ha: lockProps } : {}) });
  const masterNodes = ha ? replicas.map((r) => r.ref.node) : [config.masterNode];
  return {
    config,
    master,
    replicas,
    chunkservers,
    nodes: [...masterNodes, ...config.chunkservers.map((c) => c.node)],
    specs,
    on,
    async spawnOn(system, node) {
      for (const s of on(node)) await system.spawn(s.kind, s.props, { node: s.node, name: s.name });
    },
    boot(node, host) {
      for (const s of on(node)) host.spawn(s.kind, s.props, { name: s.name });
    },
    clientProps,
    spawnClient: (system, name, opts = {}) => system.spawn(ClientSession, clientProps(opts.rack), { node: opts.node ?? 'main', name }),
  };
}

function singleMaster(config: GfsClusterConfig): { master: ActorRef<MasterMsg>; replicas: MasterReplica[]; specs: GfsActorSpec[] } {
  const master = new ActorRef<MasterMsg>(config.masterNode, 'gfs-master');
  const props: MasterProps = { config: config.gfs };
  return { master, replicas: [], specs: [{ node: config.masterNode, name: master.id, kind: Master as unknown as GfsActorSpec['kind'], props }] };
}

function replicatedMaster(config: GfsClusterConfig, ha: GfsHaOptions): { master: ActorRef<MasterMsg>; replicas: MasterReplica[]; specs: GfsActorSpec[] } {
  if (ha.backups.length === 0) throw new Error('gfs cluster: a replicated master needs at least one replica that may lead (ha.backups)');
  const csNodes = new Set(config.chunkservers.map((c) => c.node));
  const shared = [...ha.backups, ...(ha.shadows ?? [])].filter((n) => csNodes.has(n));
  if (shared.length > 0) throw new Error(`gfs cluster: master replicas need nodes of their own, ${shared.join(', ')} also runs a chunkserver`);
  const plan = planMasterReplicas({ lock: ha.lock, backups: ha.backups, ...(ha.shadows ? { shadows: ha.shadows } : {}), config: config.gfs, ...(ha.timing ? { timing: ha.timing } : {}) });
  const specs = plan.specs.map((s): GfsActorSpec => ({ node: s.node, name: s.name, kind: s.kind as unknown as GfsActorSpec['kind'], props: s.props }));
  return { master: plan.replicas[0]!.ref, replicas: plan.replicas, specs };
}
