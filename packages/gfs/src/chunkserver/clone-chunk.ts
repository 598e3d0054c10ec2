import type { ActorContext } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { ChunkserverMsg } from '../protocol.ts';
import { ChecksumError, type ChunkBlockStore } from './block-store.ts';

export type CloneOrder = Extract<ChunkserverMsg, { type: 'clone' }>;

/**
 * Copies a chunk from another chunkserver, piece by piece (each piece verified at the source).
 * The copy is stored at version 0 until it is complete, so a crash midway leaves a replica the
 * master takes for stale and has deleted, never a short one at the current version. The copy
 * runs beside the mailbox (no turn awaits it), so the chunkserver goes on serving; a deletion
 * of the chunk meanwhile makes the clone fail. A replica held here already at the order's version,
 * with the source's length and the same block checksums, is kept as it is.
 */
export async function cloneChunk(ctx: ActorContext<ChunkserverMsg>, store: ChunkBlockStore, config: GfsConfig, msg: CloneOrder): Promise<void> {
  // no ask outlives the master's wait for the clone: its next order for the chunk must not find this copy still running
  const opts = { timeoutMs: Math.min(config.cloneTimeoutMs, config.mutationTimeoutMs) };
  const info = await ctx.ask(msg.source, { type: 'chunk-info', handle: msg.handle }, opts);
  if (!info || info.version !== msg.version) throw new Error(`source has chunk ${msg.handle} at version ${info?.version ?? 'none'}, not ${msg.version}`);
  const held = store.info(msg.handle);
  // An order repeated after its clone-done was late (or duplicated) finds the copy made: keep it, so a
  // replica the master may already name is never taken down to version 0 while it copies again. Only
  // the same bytes are kept: a copy at this version can be stale (the raise reached it, the lease's
  // writes did not).
  if (held && held.version === msg.version && held.lengthBytes === info.lengthBytes && (await sameBlocks(ctx, store, msg, opts))) return;
  if (held) store.delete(msg.handle);
  store.create(msg.handle, 0);
  for (let offset = 0; offset < info.lengthBytes; offset += config.clonePieceBytes) {
    const length = Math.min(config.clonePieceBytes, info.lengthBytes - offset);
    store.write(msg.handle, offset, await ctx.ask(msg.source, { type: 'read', handle: msg.handle, offset, length }, opts));
  }
  store.setVersion(msg.handle, msg.version);
}

/** The copy held here has the source's block checksums (a damaged block here counts as different). */
async function sameBlocks(ctx: ActorContext<ChunkserverMsg>, store: ChunkBlockStore, msg: CloneOrder, opts: { timeoutMs: number }): Promise<boolean> {
  const source = await ctx.ask(msg.source, { type: 'chunk-crcs', handle: msg.handle }, opts);
  let own: number[];
  try {
    own = store.blockCrcs(msg.handle);
  } catch (err) {
    if (err instanceof ChecksumError) return false;
    throw err;
  }
  return source !== null && source.version === msg.version && source.crcs.length === own.length && own.every((crc, i) => crc === source.crcs[i]);
}
