import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import type { LockCellRef } from '../ha/ha-config.ts';
import { MasterLocator } from '../ha/master-locator.ts';
import type { ChunkserverMsg, MasterMsg } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChunkBlockStore } from './block-store.ts';
import { heartbeatReport } from './heartbeat-report.ts';
import { MasterLink } from './master-link.ts';
import { MasterOrders } from './master-orders.ts';
import { Mutations } from './mutations.ts';
import { PushReceiver } from './push-receiver.ts';
import { ReplicaReads } from './replica-reads.ts';

/** The storage domain of chunk data: bulk writes there never delay the node's small durable replies. */
export const CHUNK_DOMAIN = 'gfs-chunks';

export interface ChunkserverProps {
  server: ServerId;
  rack: string;
  /** The master (with `ha`: the one to report to until the lock service names one). */
  master: ActorRef<MasterMsg>;
  capacityBytes: number;
  config?: Partial<GfsConfig>;
  /** With a highly available master: where to find it, and every master replica (shadows learn locations from heartbeats too). */
  ha?: { lock: LockCellRef; replicas: ActorRef<MasterMsg>[] };
}

/** The parts of a chunkserver, each handling its own messages. */
interface Parts {
  server: ServerId;
  ctx: ActorContext<ChunkserverMsg>;
  store: ChunkBlockStore;
  master: MasterLink;
  orders: MasterOrders;
  reads: ReplicaReads;
  push: PushReceiver;
  mutations: Mutations;
  heartbeat: () => void;
}

/**
 * A chunkserver: chunks in checksummed blocks in their own storage domain, versions persisted
 * with them, a heartbeat to the master with every chunk and version it holds and its disk use,
 * and deletion of what the master names (orphans, stale replicas). Data is pushed to it on
 * streams along a chain of replicas and waits in a bounded buffer; as a chunk's primary it orders
 * mutations and record appends (see Mutations). A read that finds a bad block fails and is
 * reported to the master.
 */
export const Chunkserver = defineActor('gfs.chunkserver', (props: ChunkserverProps, ctx: ActorContext<ChunkserverMsg>) => {
  const config = gfsConfig(props.config);
  const parts = chunkserverParts(props, ctx, config);
  if (props.ha) ctx.spawn(MasterLocator, { lock: props.ha.lock, principal: props.server, subscriber: ctx.self }, { name: `${ctx.self.id}-master-locator` });
  ctx.setTimer('push', Math.max(1, Math.floor(config.pushTimeoutMs / 4)), { type: 'push-tick' }, { repeat: true });
  // the first report goes out at once (the master learns locations at start), then every interval
  ctx.setTimer('first-heartbeat', 0, { type: 'heartbeat-tick' });
  ctx.setTimer('heartbeat', config.heartbeatIntervalMs, { type: 'heartbeat-tick' }, { repeat: true });
  return refusingBadInput(ctx, (msg: ChunkserverMsg) => receive(parts, msg));
});

function chunkserverParts(props: ChunkserverProps, ctx: ActorContext<ChunkserverMsg>, config: GfsConfig): Parts {
  // raised versions in the actor's own domain: a raise is not synced behind the bulk data queued before it
  const store = new ChunkBlockStore(ctx.storageDomain(CHUNK_DOMAIN), config, ctx.storage);
  const master = new MasterLink(ctx, props.master, props.ha?.replicas ?? []);
  const push = new PushReceiver(ctx, config);
  const mutations = new Mutations(ctx, store, push.buffer, config, props.master, props.server);
  const orders = new MasterOrders(ctx, store, master, mutations, config, props.server);
  const reads = new ReplicaReads(store, (handle, reason) => master.tell({ type: 'bad-replica', server: props.server, handle, reason }));
  const identity = { server: props.server, ref: ctx.self, rack: props.rack, capacityBytes: props.capacityBytes };
  const heartbeat = (): void => master.heartbeat(heartbeatReport(identity, store.list(), orders.clones));
  return { server: props.server, ctx, store, master, orders, reads, push, mutations, heartbeat };
}

/** Hands each message to the part that handles it. */
function receive(p: Parts, msg: ChunkserverMsg): void {
  switch (msg.type) {
    case 'create-chunk':
    case 'creation-stored':
    case 'raise-version':
    case 'version-stored':
    case 'copy-chunk':
    case 'delete-chunks':
    case 'clone':
      return p.orders.receive(msg);
    case 'set-version':
      p.store.setVersion(msg.handle, msg.version);
      return p.ctx.replyWhenDurable(true);
    case 'write':
      p.store.write(msg.handle, msg.offset, msg.data);
      return p.ctx.replyWhenDurable(true);
    case 'read':
      return p.ctx.reply(p.reads.read(msg));
    case 'read-data':
      return p.ctx.reply(p.reads.readData(msg));
    case 'chunk-info':
      return p.ctx.reply(p.store.info(msg.handle) ?? null);
    case 'chunk-crcs': {
      const info = p.store.info(msg.handle);
      return p.ctx.reply(info ? { ...info, crcs: p.reads.crcs(msg.handle) } : null);
    }
    case 'inspect':
      return p.ctx.reply(p.store.list());
    case 'heartbeat-tick':
      return p.heartbeat();
    case 'master-changed':
      if (msg.master === null) return;
      p.master.moved(msg.master);
      p.mutations.masterMoved(msg.master);
      return p.heartbeat(); // the new master learns this server's chunks at once
    case 'stream-open':
    case 'stream-data':
    case 'stream-end':
    case 'stream-error':
    case 'push':
    case 'data-ready':
    case 'push-tick':
      return receivePush(p, msg);
    case 'lease-granted':
    case 'revoke-lease':
    case 'mutate':
    case 'apply':
    case 'mutation-durable':
    case 'mutation-applied':
      return receiveMutation(p, msg);
    default: {
      const never: never = msg;
      p.ctx.unhandled(never);
    }
  }
}

function receivePush(p: Parts, msg: Extract<ChunkserverMsg, { type: 'stream-open' | 'stream-data' | 'stream-end' | 'stream-error' | 'push' | 'data-ready' | 'push-tick' }>): void {
  switch (msg.type) {
    case 'stream-open':
    case 'stream-data':
    case 'stream-end':
    case 'stream-error':
      return p.push.onStream(msg);
    case 'push':
      return p.push.onPush(msg);
    case 'data-ready': {
      const waiter = p.ctx.replyHandle();
      if (waiter) p.push.whenReady(msg.dataId, waiter);
      return;
    }
    case 'push-tick':
      return p.push.expire();
    default: {
      const never: never = msg;
      p.ctx.unhandled(never);
    }
  }
}

function receiveMutation(p: Parts, msg: Extract<ChunkserverMsg, { type: 'lease-granted' | 'revoke-lease' | 'mutate' | 'apply' | 'mutation-durable' | 'mutation-applied' }>): void {
  switch (msg.type) {
    case 'lease-granted':
      p.master.admit(msg);
      return p.mutations.leaseGranted(msg);
    case 'revoke-lease': {
      p.master.admit(msg);
      const { handle } = msg;
      // the snapshot waiting on this lease goes on once the mutation in flight is done, instead of at the lease's end
      return p.mutations.revoke(handle, () => p.master.tell({ type: 'lease-revoked', server: p.server, handle }));
    }
    case 'mutate': {
      const waiter = p.ctx.replyHandle(msg);
      if (waiter) p.mutations.mutate(msg, waiter);
      return;
    }
    case 'apply':
      return p.mutations.apply(msg);
    case 'mutation-durable':
      return p.mutations.localDurable(msg.handle, msg.serial);
    case 'mutation-applied':
      return p.mutations.secondariesDone(msg.handle, msg.serial, msg.error);
    default: {
      const never: never = msg;
      p.ctx.unhandled(never);
    }
  }
}
