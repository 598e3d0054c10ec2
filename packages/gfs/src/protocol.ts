import type { ActorRef, Asks, StreamEvent } from '@actorfs/actors';
import type { Sequencer } from '@actorfs/lockservice';
import type { ChunkInfo } from './chunkserver/block-store.ts';
import type { ReplicaReport, ServerId } from './master/chunk-locations.ts';
import type { ReportStamp } from './master/report-order.ts';
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
  /** Live chunkservers, by id, with the ref clients push data to and read from, and the replicas the master knows on each. */
  servers: Array<{ id: ServerId; rack: string; usedBytes: number; capacityBytes: number; ref: ActorRef<ChunkserverMsg>; chunks: number }>;
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

/** Namespace changes, asked of the master by a client session and of a session by its caller alike. */
export type NamespaceChange =
  | ({ type: 'mkdir'; path: string } & Asks<true>)
  | ({ type: 'create'; path: string } & Asks<true>)
  | ({ type: 'delete'; path: string } & Asks<true>)
  | ({ type: 'undelete'; path: string } & Asks<true>)
  | ({ type: 'rename'; from: string; to: string } & Asks<true>)
  | ({ type: 'snapshot'; source: string; target: string } & Asks<true>);

export type MasterMsg =
  // ---- namespace (clients) ----
  | NamespaceChange
  | ({ type: 'list'; path: string } & Asks<Array<{ name: string; kind: 'dir' | 'file' }>>)
  | ({ type: 'stat'; path: string } & Asks<{ kind: 'dir' } | { kind: 'file'; chunks: number }>)
  // ---- chunks (clients) ----
  /**
   * Adds a chunk at the end of a file, placed on new replicas; answers once it is logged. With
   * `index`, only if the file has no chunk `index` yet (else that chunk is the answer), so clients
   * racing past a file's end add one chunk, not one each.
   */
  | ({ type: 'add-chunk'; path: string; index?: number } & Asks<{ handle: ChunkHandle; replicas: ServerId[] }>)
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
   * being snapshotted) and tells it each with lease-granted; chunks to delete come in delete-chunks.
   * `cloning` names the chunks this server is copying now: a clone the master ordered that is not
   * among them has ended (its answer may be lost) or never arrived. A heartbeat stamped before a
   * message the master already applied from this server counts for liveness only.
   */
  | ({ type: 'heartbeat'; server: ServerId; ref: ActorRef<ChunkserverMsg>; rack: string; usedBytes: number; capacityBytes: number; chunks: ReplicaReport[]; leases?: ChunkHandle[]; cloning?: ChunkHandle[] } & Stamped)
  /**
   * A primary with mutations going on asks for more lease between heartbeats (`version`: the one
   * it holds; default the master's). Extended, the master tells it with lease-granted (and answers
   * an ask with the new expiry); refused while the chunk is being snapshotted, or the lease is
   * another server's or over (an ask gets the reason; a tell is dropped and the lease runs out).
   */
  | ({ type: 'extend-lease'; server: ServerId; handle: ChunkHandle; version?: number } & Asks<{ expiresAtMs: number }>)
  /** A primary's answer to revoke-lease: it orders no more mutations of the chunk under that lease. */
  | ({ type: 'lease-revoked'; server: ServerId; handle: ChunkHandle } & Stamped)
  | ({ type: 'chunk-created'; server: ServerId; handle: ChunkHandle; version: number } & Stamped)
  | ({ type: 'bad-replica'; server: ServerId; handle: ChunkHandle; reason: string } & Stamped)
  | ({ type: 'version-raised'; server: ServerId; handle: ChunkHandle; version: number } & Stamped)
  /** A copy-chunk order for `handle` not carried out: its source `from` is held here at `heldVersion` (null: not at all), not `fromVersion`. */
  | ({ type: 'copy-refused'; server: ServerId; handle: ChunkHandle; from: ChunkHandle; fromVersion: number; heldVersion: number | null } & Stamped)
  // ---- the master's own ----
  | { type: 'grant-timeout'; handle: ChunkHandle }
  /** A snapshot stops waiting for revocations: every lease it waited on has expired by now. */
  | { type: 'revoke-timeout'; op: number }
  /** A reply held until the log records it follows are synced (an operation that waited for locks). */
  | { type: 'durable-reply'; id: number }
  | { type: 'checkpoint-step' }
  | ({ type: 'clone-done'; server: ServerId; handle: ChunkHandle; version: number; error?: string } & Stamped)
  // ---- upkeep ----
  | ({ type: 'status' } & Asks<MasterStatus>)
  | ({ type: 'checkpoint' } & Asks<number>)
  | { type: 'scan' }
  // ---- high availability: replication between master replicas, shadow reads (see ha/) ----
  | HaMsg;

/** A chunkserver's message to the master carries its place among all the server sent (see ReportOrder). */
export interface Stamped {
  stamp?: ReportStamp;
}

/** What a chunkserver tells the master through its MasterLink, stamped there. */
export type ChunkserverReport = Extract<MasterMsg, { type: 'heartbeat' | 'lease-revoked' | 'chunk-created' | 'bad-replica' | 'version-raised' | 'copy-refused' | 'clone-done' }>;

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
  /**
   * Copy-on-write: copies chunk `from`, held at exactly `fromVersion` (the snapshot's), locally as
   * `to` at `version`, then answers with version-raised for `to`. With `from` at another version
   * (raised and written since: the order is late) nothing is copied and the answer is copy-refused.
   */
  | ({ type: 'copy-chunk'; from: ChunkHandle; fromVersion: number; to: ChunkHandle; version: number } & Fenced)
  | ({ type: 'create-chunk'; handle: ChunkHandle; version: number } & Fenced)
  | ({ type: 'delete-chunks'; handles: ChunkHandle[] } & Fenced)
  /** Re-replication: copy a chunk from `source` (piece by piece), then answer the master with clone-done. */
  | ({ type: 'clone'; handle: ChunkHandle; version: number; source: ActorRef<ChunkserverMsg> } & Fenced)
  /** From the chunkserver's master locator: the lock service names a new master (null: none now). */
  | { type: 'master-changed'; master: ActorRef<MasterMsg> | null }
  | ({ type: 'chunk-info'; handle: ChunkHandle } & Asks<ChunkInfo | null>)
  /** The chunk's version, length and each block's CRC-32 (a clone compares a copy it holds already). */
  | ({ type: 'chunk-crcs'; handle: ChunkHandle } & Asks<(ChunkInfo & { crcs: number[] }) | null>)
  | ({ type: 'set-version'; handle: ChunkHandle; version: number } & Asks<true>)
  | ({ type: 'write'; handle: ChunkHandle; offset: number; data: Uint8Array } & Asks<true>)
  | ({ type: 'read'; handle: ChunkHandle; offset: number; length: number } & Asks<Uint8Array>)
  | ({ type: 'inspect' } & Asks<Array<{ handle: ChunkHandle } & ChunkInfo>>)
  | { type: 'heartbeat-tick' }
  // ---- data path ----
  /** Pushed data arrives on a stream (meta: PushMeta) and is forwarded along the chain as it arrives. */
  | StreamEvent
  /**
   * Data of one piece or less is pushed as one message instead, forwarded the same way: a message
   * survives duplication and reordering, which end a stream (so small records stay cheap to retry).
   */
  | { type: 'push'; dataId: string; chain: Array<ActorRef<ChunkserverMsg>>; data: Uint8Array }
  /** Answers once the pushed data `dataId` is here in full (an error after pushTimeoutMs). */
  | ({ type: 'data-ready'; dataId: string } & Asks<true>)
  /**
   * The master makes this server the chunk's primary for durationMs (from when it is received,
   * less a drift margin); `replicas` are the chunk's live replicas (this one among them), to which
   * the primary forwards every mutation: the master's view, never a client's.
   */
  | ({ type: 'lease-granted'; handle: ChunkHandle; version: number; durationMs: number; replicas: Array<ActorRef<ChunkserverMsg>> } & Fenced)
  /** Before a snapshot: the primary stops ordering mutations of the chunk until it is granted a lease again, and answers lease-revoked. */
  | ({ type: 'revoke-lease'; handle: ChunkHandle } & Fenced)
  /** Client to primary: order a mutation with data pushed to every replica; answers once every replica applied it durably. */
  | ({ type: 'mutate'; handle: ChunkHandle; version: number; dataId: string; op: MutationOp } & Asks<MutateResult>)
  /**
   * Primary to secondary: apply a mutation (serials of one primary run; orders in flight together
   * touch disjoint bytes); `doneBelow`: every serial below it is finished at the primary. Answers once it is durable.
   */
  | ({ type: 'apply'; handle: ChunkHandle; version: number; run: number; serial: number; doneBelow: number; order: MutationOrder } & Asks<true>)
  /**
   * A version-checked read for clients: the bytes of [offset, offset + length) this replica has
   * (fewer at its end), one array per stored block they touch (each crosses threads as it is).
   */
  | ({ type: 'read-data'; handle: ChunkHandle; version: number; offset: number; length: number } & Asks<Uint8Array[]>)
  | { type: 'mutation-durable'; handle: ChunkHandle; serial: number }
  | { type: 'mutation-applied'; handle: ChunkHandle; serial: number; error?: string }
  /** Internal: a version raise is durable (raised: false if a later change of the chunk answers instead). */
  | { type: 'version-stored'; handle: ChunkHandle; version: number; raised: boolean; error?: string }
  /** Internal: a new chunk's creation is durable (error: it could not be stored). */
  | { type: 'creation-stored'; handle: ChunkHandle; version: number; error?: string }
  | { type: 'push-tick' };

/** What a client asks a primary to do with pushed data. */
export type MutationOp = { kind: 'write'; offset: number } | { kind: 'append' };

/** What every replica applies, in the primary's serial order. */
export type MutationOrder = { kind: 'write'; offset: number; dataId: string } | { kind: 'pad'; toLength: number };

/** A write's or append's outcome: the chunk offset the data landed at, or (an append) the chunk was full and padded: retry on the next. */
export type MutateResult = { offset: number } | { chunkFull: true };

/** What a push stream carries in its open: the data's id and the servers it goes on to after the receiver. */
export interface PushMeta {
  dataId: string;
  /** The whole push's size (the window of each stream along the chain). */
  lengthBytes: number;
  chain: Array<ActorRef<ChunkserverMsg>>;
}
