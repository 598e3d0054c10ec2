import type { ActorRef } from '@actorfs/actors';
import type { ServerId } from '../master/chunk-locations.ts';
import type { ChunkHandle } from '../master/records.ts';
import type { ChunkserverMsg, ChunkserverReport } from '../protocol.ts';
import type { ChunkInfo } from './block-store.ts';

/** Who a chunkserver is, as its heartbeats say. */
export interface ServerIdentity {
  server: ServerId;
  ref: ActorRef<ChunkserverMsg>;
  rack: string;
  capacityBytes: number;
}

/** A heartbeat: every chunk held and its version, the disk use, and the chunks being copied here now. */
export function heartbeatReport(identity: ServerIdentity, chunks: ReadonlyArray<{ handle: ChunkHandle } & ChunkInfo>, cloning: Iterable<ChunkHandle>): ChunkserverReport {
  return {
    type: 'heartbeat',
    server: identity.server,
    ref: identity.ref,
    rack: identity.rack,
    usedBytes: chunks.reduce((sum, c) => sum + c.lengthBytes, 0),
    capacityBytes: identity.capacityBytes,
    chunks: chunks.map(({ handle, version }) => ({ handle, version })),
    cloning: [...cloning],
  };
}
