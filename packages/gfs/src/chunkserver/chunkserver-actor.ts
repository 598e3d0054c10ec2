import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import type { ChunkserverMsg, MasterMsg } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChecksumError, ChunkBlockStore } from './block-store.ts';

export interface ChunkserverProps {
  server: ServerId;
  rack: string;
  master: ActorRef<MasterMsg>;
  capacityBytes: number;
  config?: Partial<GfsConfig>;
}

/**
 * A chunkserver (a first skeleton): chunks in checksummed blocks in its storage, versions
 * persisted with them, a heartbeat to the master with every chunk and version it holds and its
 * disk use, and deletion of what the master names (orphans, stale replicas). A read that finds
 * a bad block fails and is reported to the master. Not yet here: pipelined data push, mutation
 * order from a primary, record append, cloning.
 */
export const Chunkserver = defineActor('gfs.chunkserver', (props: ChunkserverProps, ctx: ActorContext<ChunkserverMsg>) => {
  const config = gfsConfig(props.config);
  const store = new ChunkBlockStore(ctx.storage, config);

  const heartbeat = (): void => {
    const chunks = store.list();
    ctx.send(props.master, {
      type: 'heartbeat',
      server: props.server,
      ref: ctx.self,
      rack: props.rack,
      usedBytes: chunks.reduce((sum, c) => sum + c.lengthBytes, 0),
      capacityBytes: props.capacityBytes,
      chunks: chunks.map(({ handle, version }) => ({ handle, version })),
    });
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
    const info = await ctx.ask(msg.source, { type: 'chunk-info', handle: msg.handle });
    if (!info || info.version !== msg.version) throw new Error(`source has chunk ${msg.handle} at version ${info?.version ?? 'none'}, not ${msg.version}`);
    if (store.info(msg.handle)) store.delete(msg.handle);
    store.create(msg.handle, 0);
    for (let offset = 0; offset < info.lengthBytes; offset += config.clonePieceBytes) {
      const length = Math.min(config.clonePieceBytes, info.lengthBytes - offset);
      store.write(msg.handle, offset, await ctx.ask(msg.source, { type: 'read', handle: msg.handle, offset, length }));
    }
    store.setVersion(msg.handle, msg.version);
  }

  const receive = (msg: ChunkserverMsg): void => {
    switch (msg.type) {
      case 'create-chunk':
        if (!store.info(msg.handle)) store.create(msg.handle, msg.version);
        return ctx.sendWhenDurable(props.master, { type: 'chunk-created', server: props.server, handle: msg.handle, version: msg.version });
      case 'raise-version':
        if (!store.info(msg.handle)) return;
        store.setVersion(msg.handle, msg.version);
        return ctx.sendWhenDurable(props.master, { type: 'version-raised', server: props.server, handle: msg.handle, version: msg.version });
      case 'copy-chunk':
        if (!store.info(msg.to)) store.copy(msg.from, msg.to, msg.version);
        return ctx.sendWhenDurable(props.master, { type: 'version-raised', server: props.server, handle: msg.to, version: msg.version });
      case 'delete-chunks':
        for (const h of msg.handles) if (store.info(h)) store.delete(h);
        return;
      case 'set-version':
        store.setVersion(msg.handle, msg.version);
        return ctx.replyWhenDurable(true);
      case 'write':
        store.write(msg.handle, msg.offset, msg.data);
        return ctx.replyWhenDurable(true);
      case 'read':
        try {
          return ctx.reply(store.read(msg.handle, msg.offset, msg.length));
        } catch (err) {
          if (err instanceof ChecksumError) ctx.send(props.master, { type: 'bad-replica', server: props.server, handle: msg.handle, reason: err.message });
          throw err;
        }
      case 'chunk-info':
        return ctx.reply(store.info(msg.handle) ?? null);
      case 'clone':
        return void clone(msg).then(
          () => ctx.sendWhenDurable(props.master, { type: 'clone-done', server: props.server, handle: msg.handle, version: msg.version }),
          (err: unknown) => ctx.send(props.master, { type: 'clone-done', server: props.server, handle: msg.handle, version: msg.version, error: String(err) }),
        );
      case 'revoke-lease':
        // (this skeleton orders no mutations itself: nothing to stop before the acknowledgement)
        return ctx.send(props.master, { type: 'lease-revoked', server: props.server, handle: msg.handle });
      case 'leases-extended':
        return;
      case 'inspect':
        return ctx.reply(store.list());
      case 'heartbeat-tick':
        return heartbeat();
      default: {
        const never: never = msg;
        ctx.unhandled(never);
      }
    }
  };

  return refusingBadInput(ctx, receive);
});
