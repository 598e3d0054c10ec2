export { gfsConfig, ConfigError, type GfsConfig } from './config.ts';
export { validatePath, PathError, HIDDEN_PREFIX, type PathLimits } from './namespace/path.ts';
export { PathTable } from './namespace/path-table.ts';
export { LockManager, LockQueueFullError, locksFor, type LockMode, type PathLock, type OpId } from './namespace/locks.ts';
export type { MetadataRecord, ChunkHandle } from './master/records.ts';
export { MasterMetadata, MetadataError, type Entry, type ChunkMeta, type CheckpointPiece, type MetadataErrorCode } from './master/metadata.ts';
export { ChunkLocations, type ServerId, type ReplicaReport, type ReportVerdict, type Lease } from './master/chunk-locations.ts';
export {
  chooseTargets,
  placeNewChunk,
  planClones,
  planRebalance,
  planSpread,
  replicationOrder,
  RecentCreations,
  type ServerInfo,
  type UnderReplicated,
  type CloneTask,
  type ClonesInFlight,
  type Move,
} from './master/placement.ts';
export { ChunkBlockStore, ChecksumError, ChunkStoreError, type BlockStorage, type ChunkInfo } from './chunkserver/block-store.ts';
export { encodeRecord, RecordReader, RecordTooLargeError, RECORD_HEADER_BYTES, type FoundRecord, type ReaderStats } from './append/record.ts';
export { Master, type MasterProps } from './master/master-actor.ts';
export { Chunkserver, type ChunkserverProps } from './chunkserver/chunkserver-actor.ts';
export type { MasterMsg, ChunkserverMsg, ChunkLocation, ChunkLease, MasterStatus, Fenced } from './protocol.ts';
export { masterLockPath, haTiming, DEFAULT_HA_TIMING, type HaTiming, type LockCellRef, type MasterHaProps, type MasterReplica, type ReplicaRole } from './ha/ha-config.ts';
export { NotMasterError, type AppendAck, type HaMsg, type HaStatus, type MasterFile, type MetadataRead, type MetadataReadResults, type ShadowAnswer, type Term } from './ha/ha-protocol.ts';
export { MasterLocator, type LocatorMsg, type LocatorProps, type MasterChanged } from './ha/master-locator.ts';
export { HaMasterClient, type Asker, type HaMasterClientOptions } from './ha/master-client.ts';
export { planMasterReplicas, MASTER_REPLICA_NAME, type MasterReplicasPlan, type MasterReplicaSpec } from './ha/plan.ts';
export {
  gfsClusterConfig,
  planGfsCluster,
  GFS_MODULES,
  type GfsClusterConfig,
  type GfsClusterOptions,
  type GfsClusterPlan,
  type GfsHaOptions,
  type ChunkserverPlace,
  type GfsActorSpec,
  type GfsSpawner,
  type NodeSpawner,
} from './cluster.ts';
export type { MutateResult, MutationOp, MutationOrder, PushMeta } from './protocol.ts';
export { PushBuffer, PushBufferError } from './chunkserver/push-buffer.ts';
export { RetryableError, OversizeRecordError } from './chunkserver/mutations.ts';
export { CHUNK_DOMAIN } from './chunkserver/chunkserver-actor.ts';
export { ClientSession, type ClientSessionProps } from './client/session.ts';
export { GfsClient, type GfsAsker, type GfsClientOptions } from './client/api.ts';
export { GfsClientError, TransientError } from './client/retry.ts';
export type { ClientMsg, FileStat, ListEntry } from './client/protocol.ts';
