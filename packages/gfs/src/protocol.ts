import type { ActorRef, Asks } from '@actorfs/actors';
import type { Sequencer } from '@actorfs/lockservice';
import type { ChunkInfo } from './chunkserver/block-store.ts';
import type { ReplicaReport, ServerId } from './master/chunk-locations.ts';
import type { ChunkHandle } from './master/records.ts';
import type { HaMsg } from './ha/ha-protocol.ts';

/** What the master answers about one of a file's chunks. */
export interface ChunkLocation {
  handle: ChunkHandle;
  version: number;
  /** Servers with a live (current-version) replica; stale ones are never listed. */
  replicas: ServerId[];
}

export interface MasterStatus {
  /** Live chunkservers, by id. */
  servers: Array<{ id: ServerId; rack: string; usedBytes: number; capacityBytes: number }>;
  /** Op-log records since the last checkpoint. */
  recordsSinceCheckpoint: number;
}

export type MasterMsg =
  // ---- namespace (clients) ----
  | ({ type: 'mkdir'; path: string } & Asks<true>)
  | ({ type: 'create'; path: string } & Asks<true>)
  | ({ type: 'delete'; path: string } & Asks<true>)
  | ({ type: 'undelete'; path: string } & Asks<true>)
  | ({ type: 'rename'; from: string; to: string } & Asks<true>)
  | ({ type: 'snapshot'; source: string; target: string } & Asks<true>)
  | ({ type: 'list'; path: string } & Asks<Array<{ name: string; kind: 'dir' | 'file' }>>)
  | ({ type: 'stat'; path: string } & Asks<{ kind: 'dir' } | { kind: 'file'; chunks: number }>)
  // ---- chunks (clients) ----
  /** Adds a chunk at the end of a file, placed on new replicas; answers once it is logged. */
  | ({ type: 'add-chunk'; path: string } & Asks<{ handle: ChunkHandle; replicas: ServerId[] }>)
  | ({ type: 'locate'; path: string; index: number } & Asks<ChunkLocation>)
  /**
   * Who may order mutations of a chunk: the lease holder, granted on demand. A grant first raises
   * the chunk's version, logged at the master and persisted by the replicas, before any client
   * hears of the primary; replicas that missed the raise are stale from then on.
   */
  | ({ type: 'lease'; path: string; index: number } & Asks<ChunkLease>)
  // ---- chunkservers ----
  | { type: 'heartbeat'; server: ServerId; ref: ActorRef<ChunkserverMsg>; rack: string; usedBytes: number; capacityBytes: number; chunks: ReplicaReport[] }
  | { type: 'chunk-created'; server: ServerId; handle: ChunkHandle; version: number }
  | { type: 'bad-replica'; server: ServerId; handle: ChunkHandle; reason: string }
  | { type: 'version-raised'; server: ServerId; handle: ChunkHandle; version: number }
  | { type: 'grant-timeout'; handle: ChunkHandle }
  | { type: 'clone-done'; server: ServerId; handle: ChunkHandle; version: number; error?: string }
  // ---- upkeep ----
  | ({ type: 'status' } & Asks<MasterStatus>)
  | ({ type: 'checkpoint' } & Asks<number>)
  | { type: 'scan' }
  // ---- high availability: replication between master replicas, shadow reads (see ha/) ----
  | HaMsg;

export interface ChunkLease extends ChunkLocation {
  primary: ServerId;
  expiresAtMs: number;
}

/** A master with high availability marks its orders with its lock sequencer; a chunkserver refuses one older than the newest it has seen. */
export interface Fenced {
  sequencer?: Sequencer;
}

export type ChunkserverMsg =
  /** Persists a raised version, then answers the master with version-raised. */
  | ({ type: 'raise-version'; handle: ChunkHandle; version: number } & Fenced)
  /** Copy-on-write: copies chunk `from` locally as `to` at `version`, then answers with version-raised for `to`. */
  | ({ type: 'copy-chunk'; from: ChunkHandle; to: ChunkHandle; version: number } & Fenced)
  | ({ type: 'create-chunk'; handle: ChunkHandle; version: number } & Fenced)
  | ({ type: 'delete-chunks'; handles: ChunkHandle[] } & Fenced)
  /** Re-replication: copy a chunk from `source` (piece by piece), then answer the master with clone-done. */
  | ({ type: 'clone'; handle: ChunkHandle; version: number; source: ActorRef<ChunkserverMsg> } & Fenced)
  /** From the chunkserver's master locator: the lock service names a new master (null: none now). */
  | { type: 'master-changed'; master: ActorRef<MasterMsg> | null }
  | ({ type: 'chunk-info'; handle: ChunkHandle } & Asks<ChunkInfo | null>)
  | ({ type: 'set-version'; handle: ChunkHandle; version: number } & Asks<true>)
  | ({ type: 'write'; handle: ChunkHandle; offset: number; data: Uint8Array } & Asks<true>)
  | ({ type: 'read'; handle: ChunkHandle; offset: number; length: number } & Asks<Uint8Array>)
  | ({ type: 'inspect' } & Asks<Array<{ handle: ChunkHandle } & ChunkInfo>>)
  | { type: 'heartbeat-tick' };
