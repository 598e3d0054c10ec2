import type { ActorRef, Asks } from '@actorfs/actors';
import type { ChunkInfo } from './chunkserver/block-store.ts';
import type { ReplicaReport, ServerId } from './master/chunk-locations.ts';
import type { ChunkHandle } from './master/records.ts';

/** What the master answers about one of a file's chunks. */
export interface ChunkLocation {
  handle: ChunkHandle;
  version: number;
  /** Servers with a live (current-version) replica; stale ones are never listed. */
  replicas: ServerId[];
}

export interface MasterStatus {
  /** Live chunkservers, by id, with the replicas the master knows on each. */
  servers: Array<{ id: ServerId; rack: string; usedBytes: number; capacityBytes: number; chunks: number }>;
  /** Op-log records since the last checkpoint. */
  recordsSinceCheckpoint: number;
  /** Sequence number of the newest op-log record. */
  logPosition: number;
  /** Live (not deleted) files, and chunks of any file. */
  files: number;
  chunks: number;
  /** Chunks with fewer live replicas than the target, and the clones now copying. */
  underReplicated: number;
  clonesInFlight: Array<{ handle: ChunkHandle; source: ServerId; target: ServerId }>;
  /** A checkpoint is being written (beside the mutations, a few pieces per turn). */
  checkpointing: boolean;
  /** Operations waiting for namespace locks (behind a snapshot that waits for its leases' revocation). */
  waitingForLocks: number;
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
  /**
   * Liveness, every replica held with its version, and disk use. `leases` names the chunks this
   * server is primary of and still mutating: the master extends those leases (unless the chunk is
   * being snapshotted) and answers with leases-extended; chunks to delete come in delete-chunks.
   */
  | { type: 'heartbeat'; server: ServerId; ref: ActorRef<ChunkserverMsg>; rack: string; usedBytes: number; capacityBytes: number; chunks: ReplicaReport[]; leases?: ChunkHandle[] }
  /** A primary mutating a chunk asks for more lease time between heartbeats; refused while the chunk is being snapshotted. */
  | ({ type: 'extend-lease'; server: ServerId; handle: ChunkHandle; version: number } & Asks<{ expiresAtMs: number }>)
  /** A primary's answer to revoke-lease: it orders no more mutations of the chunk under that lease. */
  | { type: 'lease-revoked'; server: ServerId; handle: ChunkHandle }
  | { type: 'chunk-created'; server: ServerId; handle: ChunkHandle; version: number }
  | { type: 'bad-replica'; server: ServerId; handle: ChunkHandle; reason: string }
  | { type: 'version-raised'; server: ServerId; handle: ChunkHandle; version: number }
  // ---- the master's own ----
  | { type: 'grant-timeout'; handle: ChunkHandle }
  /** A snapshot stops waiting for revocations: every lease it waited on has expired by now. */
  | { type: 'revoke-timeout'; op: number }
  /** A reply held until the log records it follows are synced (an operation that waited for locks). */
  | { type: 'durable-reply'; id: number }
  | { type: 'checkpoint-step' }
  | { type: 'clone-done'; server: ServerId; handle: ChunkHandle; version: number; error?: string }
  // ---- upkeep ----
  | ({ type: 'status' } & Asks<MasterStatus>)
  | ({ type: 'checkpoint' } & Asks<number>)
  | { type: 'scan' };

export interface ChunkLease extends ChunkLocation {
  primary: ServerId;
  expiresAtMs: number;
}

export type ChunkserverMsg =
  /** Persists a raised version, then answers the master with version-raised. */
  | { type: 'raise-version'; handle: ChunkHandle; version: number }
  /** Copy-on-write: copies chunk `from` locally as `to` at `version`, then answers with version-raised for `to`. */
  | { type: 'copy-chunk'; from: ChunkHandle; to: ChunkHandle; version: number }
  | { type: 'create-chunk'; handle: ChunkHandle; version: number }
  /** Before a snapshot: the primary stops ordering mutations of the chunk and answers lease-revoked. */
  | { type: 'revoke-lease'; handle: ChunkHandle }
  /** The master's answer to a heartbeat's lease requests: the new expiry of each extended lease. */
  | { type: 'leases-extended'; leases: Array<{ handle: ChunkHandle; expiresAtMs: number }> }
  | { type: 'delete-chunks'; handles: ChunkHandle[] }
  /** Re-replication: copy a chunk from `source` (piece by piece), then answer the master with clone-done. */
  | { type: 'clone'; handle: ChunkHandle; version: number; source: ActorRef<ChunkserverMsg> }
  | ({ type: 'chunk-info'; handle: ChunkHandle } & Asks<ChunkInfo | null>)
  | ({ type: 'set-version'; handle: ChunkHandle; version: number } & Asks<true>)
  | ({ type: 'write'; handle: ChunkHandle; offset: number; data: Uint8Array } & Asks<true>)
  | ({ type: 'read'; handle: ChunkHandle; offset: number; length: number } & Asks<Uint8Array>)
  | ({ type: 'inspect' } & Asks<Array<{ handle: ChunkHandle } & ChunkInfo>>)
  | { type: 'heartbeat-tick' };
