import { ActorRef, RemoteActorError, type MessageOf, type ReplyOf } from '@actorfs/actors';
import { Sleeper, type SimCluster } from '@actorfs/actors/testing';
import { cellConfig, planCell, type CellOptions, type CellPlan } from '@actorfs/lockservice';
import { Chunkserver } from '../src/chunkserver/chunkserver-actor.ts';
import type { GfsConfig } from '../src/config.ts';
import type { HaTiming, LockCellRef, MasterReplica } from '../src/ha/ha-config.ts';
import type { MetadataRead, MetadataReadResults, ShadowAnswer } from '../src/ha/ha-protocol.ts';
import { HaMasterClient, type Asker } from '../src/ha/master-client.ts';
import { MasterLocator, type LocatorMsg } from '../src/ha/master-locator.ts';
import { planMasterReplicas } from '../src/ha/plan.ts';
import type { ChunkserverMsg, MasterMsg } from '../src/protocol.ts';

/** A 3-replica lock-service cell with short timings: 1 s session lease, 500 ms lock-delay. */
export const HA_CELL: CellOptions = {
  nodes: ['l0', 'l1', 'l2'],
  defaultLockDelayMs: 500,
  timing: { leaseMs: 1000, answerBeforeEndMs: 200, gracePeriodMs: 3000, driftMs: 50, requestTimeoutMs: 500 },
  paxos: { leaseMs: 200 },
};

export const HA_GFS_CONFIG: Partial<GfsConfig> = {
  chunkSizeBytes: 64 * 1024,
  blockSizeBytes: 4096,
  heartbeatIntervalMs: 200,
  scanIntervalMs: 200,
  checkpointEveryRecords: 25,
  checkpointPieceRows: 4,
  leaseMs: 1000,
  leaseGrantTimeoutMs: 500,
};

export const HA_TIMING: Partial<HaTiming> = { backupAckTimeoutMs: 500, pingIntervalMs: 100, maxRecordsPerAppend: 8, tailRecords: 10 };

export interface HaCell {
  lock: LockCellRef;
  plan: CellPlan;
  replicas: MasterReplica[];
  chunkservers: Map<string, ActorRef<ChunkserverMsg>>;
  /** The client's locator and promise API (asks only: the test runs the simulator). */
  client: HaMasterClient;
  locator: ActorRef<LocatorMsg>;
}

/**
 * A GFS cell with a highly available master in the simulator: the lock-service cell (l0-l2),
 * backups m1 and m2, shadow s1, chunkservers cs1-cs3 and a client node c.
 */
export function haCell(
  sim: SimCluster,
  sleeper: Sleeper,
  opts: { backups?: string[]; shadows?: string[]; chunkservers?: number; timing?: Partial<HaTiming>; config?: Partial<GfsConfig> } = {},
): HaCell {
  const config = { ...HA_GFS_CONFIG, ...opts.config };
  const plan = planCell(cellConfig('gfs-test', HA_CELL));
  for (const n of plan.config.nodes) sim.addNode(n, { boot: (node) => plan.on(n).forEach((s) => node.spawn(s.kind, s.props, { name: s.name })) });
  const lock: LockCellRef = { config: plan.config, servers: plan.servers };
  const { replicas, specs } = planMasterReplicas({ lock, backups: opts.backups ?? ['m1', 'm2'], shadows: opts.shadows ?? ['s1'], config, timing: { ...HA_TIMING, ...opts.timing } });
  for (const s of specs) sim.addNode(s.node, { boot: (node) => void node.spawn(s.kind, s.props, { name: s.name }) });
  const chunkservers = new Map<string, ActorRef<ChunkserverMsg>>();
  for (let i = 1; i <= (opts.chunkservers ?? 3); i++) {
    const server = `cs${i}`;
    sim.addNode(server, {
      boot: (node) =>
        void chunkservers.set(
          server,
          node.spawn(
            Chunkserver,
            { server, rack: `r${i}`, master: replicas[0]!.ref, capacityBytes: 1 << 30, config, ha: { lock, replicas: replicas.map((r) => r.ref) } },
            { name: 'chunkserver' },
          ),
        ),
    });
  }
  sim.addNode('c');
  const locator = sim.spawn('c', MasterLocator, { lock, principal: 'client' }, { name: 'locator' });
  const ask: Asker = (ref, msg, o) => sim.ask(ref, msg, o);
  const client = new HaMasterClient({ locator, ask, sleep: sleeper.sleep, shadows: replicas.filter((r) => r.role === 'shadow').map((r) => r.ref), timeoutMs: 1000 });
  return { lock, plan, replicas, chunkservers, client, locator };
}

/**
 * A mutation sent until it is answered: a request lost with its master (a timeout, a node gone)
 * goes again, every 50 ms for up to maxTries, to whichever master the lock service names then.
 * Its answer, or 'exists' when a retry found it done already (a chunk add at an index answers
 * the chunk there, done or not).
 */
export async function mutate<K extends string>(
  client: HaMasterClient,
  msg: MasterMsg & { type: K; path: string },
  maxTries = 400,
): Promise<ReplyOf<MessageOf<MasterMsg, K>> | 'exists'> {
  let retried = false;
  for (let i = 0; i < maxTries; i++) {
    try {
      return await client.call<K>(msg);
    } catch (err) {
      if (err instanceof RemoteActorError) {
        if (retried && /already exists/.test(err.message)) return 'exists';
        // a new master learns of the chunkservers from their next heartbeats
        if (!/jeopardy|stepped down|wait for the backups|no chunkserver can take/.test(err.message)) throw err;
      }
      retried = true;
      await client.sleep(50);
    }
  }
  throw new Error(`${msg.type} ${msg.path}: no answer after ${maxTries} tries`);
}

/** A read from one replica (asks only), typed by the read. */
export function readAt<K extends MetadataRead['type']>(sim: SimCluster, replica: ActorRef<MasterMsg>, read: MetadataRead & { type: K }): Promise<ShadowAnswer<MetadataReadResults[K]>> {
  return sim.ask(replica, { type: 'shadow-read', read }) as Promise<ShadowAnswer<MetadataReadResults[K]>>;
}

/** Which replica the master is, as the replicas themselves say (asks only). */
export async function masterReplica(sim: SimCluster, cell: HaCell): Promise<string | undefined> {
  for (const r of cell.replicas) {
    if (!sim.isUp(r.name)) continue;
    const s = await sim.ask(r.ref, { type: 'ha-status' }, { timeoutMs: 500 }).catch(() => undefined);
    if (s?.role === 'master') return r.name;
  }
  return undefined;
}
