import { defineActor, handOver, type ActorContext, type ActorRef } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import { SequencerGuard } from '@actorfs/lockservice';
import type { LockCellRef } from '../ha/ha-config.ts';
import { MasterLocator } from '../ha/master-locator.ts';
import type { ChunkserverMsg, Fenced, MasterMsg } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChecksumError, ChunkBlockStore } from './block-store.ts';
import { Mutations, RetryableError } from './mutations.ts';
import { PushReceiver } from './push-receiver.ts';

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
  // raised versions in the actor's own domain: a raise is not synced behind the bulk data queued before it
  const store = new ChunkBlockStore(ctx.storageDomain(CHUNK_DOMAIN), config, ctx.storage);
  let master = props.master;
  const fence = new SequencerGuard(1);
  if (props.ha) ctx.spawn(MasterLocator, { lock: props.ha.lock, principal: props.server, subscriber: ctx.self }, { name: `${ctx.self.id}-master-locator` });
  /** An order from a master that carries a sequencer older than the newest seen is refused. */
  const admit = (msg: Fenced): void => {
    if (msg.sequencer === undefined) return;
    const checked = fence.check(msg.sequencer);
    if (!checked.ok) throw new Error(`refused a master's order: ${checked.error.code}: ${checked.error.message}`);
  };
  const push = new PushReceiver(ctx, config);
  const mutations = new Mutations(ctx, store, push.buffer, config, master, props.server);
  ctx.setTimer('push', Math.max(1, Math.floor(config.pushTimeoutMs / 4)), { type: 'push-tick' }, { repeat: true });

  /** Chunks being copied here now; a second order for one of them is ignored (the running copy answers). */
  const cloning = new Set<number>();
  const heartbeat = (): void => {
    const chunks = store.list();
    const report: MasterMsg = {
      type: 'heartbeat',
      server: props.server,
      ref: ctx.self,
      rack: props.rack,
      usedBytes: chunks.reduce((sum, c) => sum + c.lengthBytes, 0),
      capacityBytes: props.capacityBytes,
      chunks: chunks.map(({ handle, version }) => ({ handle, version })),
      cloning: [...cloning],
    };
    ctx.send(master, report);
    for (const r of props.ha?.replicas ?? []) if (r.node !== master.node || r.id !== master.id) ctx.send(r, report);
  };
  // the first report goes out at once (the master learns locations at start), then every interval
  ctx.setTimer('first-heartbeat', 0, { type: 'heartbeat-tick' });
  ctx.setTimer('heartbeat', config.heartbeatIntervalMs, { type: 'heartbeat-tick' }, { repeat: true });

  /**
   * Copies a chunk from another chunkserver, piece by piece (each piece verified at the source).
   * The copy is stored at version 0 until it is complete, so a crash midway leaves a replica the
   * master takes for stale and has deleted, never a short one at the current version. The copy
   * runs beside the mailbox (no turn awaits it), so the chunkserver goes on serving; a deletion
   * of the chunk meanwhile makes the clone fail. (Bulk data moves to streams once the runtime has them.)
   */
  async function clone(msg: Extract<ChunkserverMsg, { type: 'clone' }>): Promise<void> {
    // no ask outlives the master's wait for the clone: its next order for the chunk must not find this copy still running
    const opts = { timeoutMs: Math.min(config.cloneTimeoutMs, config.mutationTimeoutMs) };
    const info = await ctx.ask(msg.source, { type: 'chunk-info', handle: msg.handle }, opts);
    if (!info || info.version !== msg.version) throw new Error(`source has chunk ${msg.handle} at version ${info?.version ?? 'none'}, not ${msg.version}`);
    if (store.info(msg.handle)) store.delete(msg.handle);
    store.create(msg.handle, 0);
    for (let offset = 0; offset < info.lengthBytes; offset += config.clonePieceBytes) {
      const length = Math.min(config.clonePieceBytes, info.lengthBytes - offset);
      store.write(msg.handle, offset, await ctx.ask(msg.source, { type: 'read', handle: msg.handle, offset, length }, opts));
    }
    store.setVersion(msg.handle, msg.version);
  }

  /** A bad block is reported to the master (which has the replica replaced) before the reader gets the error. */
  function verifiedRead<T>(handle: number, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof ChecksumError) ctx.send(master, { type: 'bad-replica', server: props.server, handle, reason: err.message });
      throw err;
    }
  }

  function readData(msg: Extract<ChunkserverMsg, { type: 'read-data' }>): Uint8Array[] {
    const info = store.info(msg.handle);
    if (!info) throw new RetryableError(`chunk ${msg.handle} is not here`);
    if (info.version !== msg.version) throw new RetryableError(`chunk ${msg.handle}: this replica is at version ${info.version}, not ${msg.version}`);
    if (!Number.isSafeInteger(msg.offset) || !Number.isSafeInteger(msg.length) || msg.offset < 0 || msg.length < 0) {
      throw new Error(`read-data: bad range: offset ${String(msg.offset)}, length ${String(msg.length)}`);
    }
    const length = Math.max(0, Math.min(msg.length, info.lengthBytes - msg.offset));
    // each block a fresh array nothing here keeps: the transport moves it to the reader's thread as it is
    return verifiedRead(msg.handle, () => store.readBlocks(msg.handle, msg.offset, length)).map(handOver);
  }

  const receive = (msg: ChunkserverMsg): void => {
    switch (msg.type) {
      case 'create-chunk':
        admit(msg);
        if (!store.info(msg.handle)) store.create(msg.handle, msg.version);
        return ctx.sendWhenDurable(master, { type: 'chunk-created', server: props.server, handle: msg.handle, version: msg.version });
      case 'raise-version':
        admit(msg);
        // (a copy under way takes its version from its clone order, with its data)
        if (!store.info(msg.handle) || cloning.has(msg.handle)) return;
        // answered in a turn of its own once durable (see version-stored)
        return ctx.pipeToSelf(store.raiseVersion(msg.handle, msg.version), (r) => ({
          type: 'version-stored',
          handle: msg.handle,
          version: msg.version,
          raised: r.ok && r.value,
          ...(r.ok ? {} : { error: String(r.error) }),
        }));
      case 'version-stored':
        if (msg.error !== undefined) return ctx.log.warn('a raised version was not stored', { handle: msg.handle, version: msg.version, error: msg.error });
        if (msg.raised) ctx.send(master, { type: 'version-raised', server: props.server, handle: msg.handle, version: msg.version });
        return;
      case 'copy-chunk':
        admit(msg);
        if (!store.info(msg.to)) store.copy(msg.from, msg.to, msg.version);
        return ctx.sendWhenDurable(master, { type: 'version-raised', server: props.server, handle: msg.to, version: msg.version });
      case 'delete-chunks':
        admit(msg);
        for (const h of msg.handles) {
          if (store.info(h)) store.delete(h);
          mutations.forget(h);
        }
        return;
      case 'set-version':
        store.setVersion(msg.handle, msg.version);
        return ctx.replyWhenDurable(true);
      case 'write':
        store.write(msg.handle, msg.offset, msg.data);
        return ctx.replyWhenDurable(true);
      case 'read':
        return ctx.reply(verifiedRead(msg.handle, () => store.read(msg.handle, msg.offset, msg.length)));
      case 'read-data':
        return ctx.reply(readData(msg));
      case 'chunk-info':
        return ctx.reply(store.info(msg.handle) ?? null);
      case 'clone':
        admit(msg);
        if (cloning.has(msg.handle)) return;
        cloning.add(msg.handle);
        return void clone(msg).then(
          () => {
            cloning.delete(msg.handle);
            ctx.sendWhenDurable(master, { type: 'clone-done', server: props.server, handle: msg.handle, version: msg.version });
          },
          (err: unknown) => {
            cloning.delete(msg.handle);
            ctx.send(master, { type: 'clone-done', server: props.server, handle: msg.handle, version: msg.version, error: String(err) });
          },
        );
      case 'inspect':
        return ctx.reply(store.list());
      case 'heartbeat-tick':
        return heartbeat();
      case 'master-changed':
        if (msg.master === null) return;
        master = msg.master;
        mutations.masterMoved(master);
        return heartbeat(); // the new master learns this server's chunks at once
      case 'stream-open':
      case 'stream-data':
      case 'stream-end':
      case 'stream-error':
        return push.onStream(msg);
      case 'push':
        return push.onPush(msg);
      case 'data-ready': {
        const waiter = ctx.replyHandle();
        if (waiter) push.whenReady(msg.dataId, waiter);
        return;
      }
      case 'push-tick':
        return push.expire();
      case 'lease-granted':
        admit(msg);
        return mutations.leaseGranted(msg);
      case 'revoke-lease':
        admit(msg);
        // the snapshot waiting on this lease goes on once the mutation in flight is done, instead of at the lease's end
        return mutations.revoke(msg.handle, () => ctx.send(master, { type: 'lease-revoked', server: props.server, handle: msg.handle }));
      case 'mutate': {
        const waiter = ctx.replyHandle(msg);
        if (waiter) mutations.mutate(msg, waiter);
        return;
      }
      case 'apply':
        return mutations.apply(msg);
      case 'mutation-durable':
        return mutations.localDurable(msg.handle, msg.serial);
      case 'mutation-applied':
        return mutations.secondariesDone(msg.handle, msg.serial, msg.error);
      default: {
        const never: never = msg;
        ctx.unhandled(never);
      }
    }
  };

  return refusingBadInput(ctx, receive);
});
