/**
 * Every size and timeout of a GFS cell, with the paper's values as defaults, so tests run with
 * small chunks and short leases. `gfsConfig` fills the defaults and refuses a bad setting with
 * one error that names every problem.
 */
export interface GfsConfig {
  /** Bytes of one chunk. Default 64 MiB. */
  chunkSizeBytes: number;
  /** Bytes of one checksummed block of a stored chunk; divides chunkSizeBytes. Default 64 KiB. */
  blockSizeBytes: number;
  /** Replicas a chunk should have. Default 3. */
  replicas: number;
  /** A primary's chunk lease. Default 60 s. */
  leaseMs: number;
  /** How long a lease grant waits for the replicas to persist the raised version; then it goes on with those that did. Default 2 s. */
  leaseGrantTimeoutMs: number;
  /** Clients waiting at once for the lease of one chunk; beyond it a request is refused. Default 1000. */
  maxLeaseWaiters: number;
  /** Chunkservers report to the master every this many ms. Default 5 s. */
  heartbeatIntervalMs: number;
  /** A chunkserver silent this long is taken for dead. Default 3 heartbeats. */
  serverTimeoutMs: number;
  /** A deleted file stays, hidden and undeletable, this long before it is reclaimed. Default 3 days. */
  gcDelayMs: number;
  /** Bytes (UTF-8) of one path component. Default 255. */
  maxNameBytes: number;
  /** Bytes (UTF-8) of a whole path. Default 4096. */
  maxPathBytes: number;
  /** Bytes of one appended record's payload at most; at most a quarter of a chunk. Default chunkSizeBytes / 4. */
  maxRecordBytes: number;
  /** Chunk creations a chunkserver takes within recentCreationWindowMs before placement skips it. Default 10. */
  maxRecentCreationsPerServer: number;
  recentCreationWindowMs: number;
  /** Clones (re-replications and rebalancing moves) in flight in the whole cell. Default 20. */
  maxClonesInFlight: number;
  /** Clones a single chunkserver takes part in at once (as source or target). Default 2. */
  maxClonesPerServer: number;
  /** A clone not reported done within this long is given up (and planned again). Default 60 s. */
  cloneTimeoutMs: number;
  /** Bytes a clone copies per request from its source. Default 1 MiB (well below the transport's message limit). */
  clonePieceBytes: number;
  /** Rebalancing leaves servers alone once their disk use differs by no more than this fraction. Default 0.1. */
  rebalanceThreshold: number;
  /** Rows of one checkpoint piece (each piece is one storage value). Default 1000. */
  checkpointPieceRows: number;
  /** The master checkpoints after this many op-log records (recovery replays at most that many). Default 10,000. */
  checkpointEveryRecords: number;
  /** The master scans for dead chunkservers and deleted files to reclaim every this many ms. Default 10 s. */
  scanIntervalMs: number;
  /** Operations waiting for namespace locks at once; beyond it a new one is refused. Default 10,000. */
  maxLockWaiters: number;
  /** Record ids the record reader remembers to drop duplicates. Default 100,000. */
  recordDedupWindow: number;
  /** Bytes of one piece of pushed data on the stream along the replicas' chain (well below the message limit). Default 256 KiB. */
  pushPieceBytes: number;
  /** Bytes of pushed data a chunkserver holds waiting for writes; beyond it the least recently used is dropped. Default 256 MiB. */
  pushBufferBytes: number;
  /** Pushed data not used within this long is dropped, and a client waiting this long for its data to arrive gets an error. Default 60 s. */
  pushTimeoutMs: number;
  /** Bytes of one mutation at most (a client splits larger writes). Default 8 MiB, at most a chunk. */
  writeUnitBytes: number;
  /** Mutations a primary holds waiting for their turn on one chunk; beyond it a new one is refused (the client retries). Default 1000. */
  maxQueuedMutations: number;
  /** How long a primary waits for a secondary to apply a mutation, and a client for a chunkserver. Default 10 s. */
  mutationTimeoutMs: number;
  /** A client trusts its cached chunk locations this long. Default 60 s. */
  locationCacheMs: number;
  /** Attempts of one client step at most, besides clientRetryMs. Default 1000: the time budget ends a step first. */
  clientAttempts: number;
  /**
   * How long one client step (a chunk's write, read or append, a namespace change) keeps trying
   * from its first attempt before its error is final. Default leaseMs + 90 s: a master failover
   * under the lock service's defaults (12 s session lease, up to 60 s lock-delay), then the new
   * master's wait of one chunk lease before it grants one, with room to spare.
   */
  clientRetryMs: number;
  /** A client's first retry waits this long, doubling per attempt up to 2 s (with jitter). Default 100 ms. */
  clientBackoffMs: number;
  /** Bytes a client reads from a chunkserver per request. Default 4 MiB. */
  readPieceBytes: number;
  /** Operations a client session runs at once; beyond it a new one is refused. Default 256. */
  maxClientOps: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const DAY_MS = 24 * 60 * 60 * 1000;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad GFS configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function gfsConfig(c: Partial<GfsConfig> = {}): GfsConfig {
  const chunkSizeBytes = c.chunkSizeBytes ?? 64 * MIB;
  const heartbeatIntervalMs = c.heartbeatIntervalMs ?? 5_000;
  const leaseMs = c.leaseMs ?? 60_000;
  const config: GfsConfig = {
    chunkSizeBytes,
    blockSizeBytes: c.blockSizeBytes ?? Math.min(64 * KIB, chunkSizeBytes),
    replicas: c.replicas ?? 3,
    leaseMs,
    leaseGrantTimeoutMs: c.leaseGrantTimeoutMs ?? 2_000,
    maxLeaseWaiters: c.maxLeaseWaiters ?? 1000,
    heartbeatIntervalMs,
    serverTimeoutMs: c.serverTimeoutMs ?? 3 * heartbeatIntervalMs,
    gcDelayMs: c.gcDelayMs ?? 3 * DAY_MS,
    maxNameBytes: c.maxNameBytes ?? 255,
    maxPathBytes: c.maxPathBytes ?? 4096,
    maxRecordBytes: c.maxRecordBytes ?? Math.floor(chunkSizeBytes / 4),
    maxRecentCreationsPerServer: c.maxRecentCreationsPerServer ?? 10,
    recentCreationWindowMs: c.recentCreationWindowMs ?? 60_000,
    maxClonesInFlight: c.maxClonesInFlight ?? 20,
    maxClonesPerServer: c.maxClonesPerServer ?? 2,
    cloneTimeoutMs: c.cloneTimeoutMs ?? 60_000,
    clonePieceBytes: c.clonePieceBytes ?? 1024 * 1024,
    rebalanceThreshold: c.rebalanceThreshold ?? 0.1,
    checkpointPieceRows: c.checkpointPieceRows ?? 1000,
    checkpointEveryRecords: c.checkpointEveryRecords ?? 10_000,
    scanIntervalMs: c.scanIntervalMs ?? 10_000,
    maxLockWaiters: c.maxLockWaiters ?? 10_000,
    recordDedupWindow: c.recordDedupWindow ?? 100_000,
    pushPieceBytes: c.pushPieceBytes ?? 256 * KIB,
    pushBufferBytes: c.pushBufferBytes ?? 256 * MIB,
    pushTimeoutMs: c.pushTimeoutMs ?? 60_000,
    writeUnitBytes: c.writeUnitBytes ?? Math.min(8 * MIB, chunkSizeBytes),
    maxQueuedMutations: c.maxQueuedMutations ?? 1000,
    mutationTimeoutMs: c.mutationTimeoutMs ?? 10_000,
    locationCacheMs: c.locationCacheMs ?? 60_000,
    clientAttempts: c.clientAttempts ?? 1000,
    clientRetryMs: c.clientRetryMs ?? leaseMs + 90_000,
    clientBackoffMs: c.clientBackoffMs ?? 100,
    readPieceBytes: c.readPieceBytes ?? 4 * MIB,
    maxClientOps: c.maxClientOps ?? 256,
  };
  const problems = configProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const positiveIntegers = [
  'chunkSizeBytes',
  'blockSizeBytes',
  'replicas',
  'leaseMs',
  'leaseGrantTimeoutMs',
  'maxLeaseWaiters',
  'heartbeatIntervalMs',
  'serverTimeoutMs',
  'maxNameBytes',
  'maxPathBytes',
  'maxRecordBytes',
  'maxRecentCreationsPerServer',
  'recentCreationWindowMs',
  'maxClonesInFlight',
  'maxClonesPerServer',
  'cloneTimeoutMs',
  'clonePieceBytes',
  'checkpointPieceRows',
  'checkpointEveryRecords',
  'scanIntervalMs',
  'maxLockWaiters',
  'recordDedupWindow',
  'pushPieceBytes',
  'pushBufferBytes',
  'pushTimeoutMs',
  'writeUnitBytes',
  'maxQueuedMutations',
  'mutationTimeoutMs',
  'locationCacheMs',
  'clientAttempts',
  'clientRetryMs',
  'clientBackoffMs',
  'readPieceBytes',
  'maxClientOps',
] as const satisfies ReadonlyArray<keyof GfsConfig>;

function configProblems(c: GfsConfig): string[] {
  const problems: string[] = [];
  for (const key of positiveIntegers) {
    const v = c[key];
    if (!Number.isSafeInteger(v) || v <= 0) problems.push(`${key} must be a positive integer (got ${String(v)})`);
  }
  if (!Number.isSafeInteger(c.gcDelayMs) || c.gcDelayMs < 0) problems.push(`gcDelayMs must be an integer >= 0 (got ${String(c.gcDelayMs)})`);
  if (!(c.rebalanceThreshold >= 0 && c.rebalanceThreshold < 1)) {
    problems.push(`rebalanceThreshold must be in [0, 1) (got ${String(c.rebalanceThreshold)})`);
  }
  if (problems.length > 0) return problems;
  if (c.chunkSizeBytes % c.blockSizeBytes !== 0) {
    problems.push(`blockSizeBytes (${c.blockSizeBytes}) must divide chunkSizeBytes (${c.chunkSizeBytes})`);
  }
  if (c.maxRecordBytes > c.chunkSizeBytes / 4) {
    problems.push(`maxRecordBytes (${c.maxRecordBytes}) must be at most a quarter of chunkSizeBytes (${c.chunkSizeBytes / 4})`);
  }
  if (c.serverTimeoutMs <= c.heartbeatIntervalMs) {
    problems.push(`serverTimeoutMs (${c.serverTimeoutMs}) must exceed heartbeatIntervalMs (${c.heartbeatIntervalMs})`);
  }
  if (c.writeUnitBytes > c.chunkSizeBytes) problems.push(`writeUnitBytes (${c.writeUnitBytes}) must be at most chunkSizeBytes (${c.chunkSizeBytes})`);
  if (c.writeUnitBytes > c.pushBufferBytes) problems.push(`writeUnitBytes (${c.writeUnitBytes}) must be at most pushBufferBytes (${c.pushBufferBytes})`);
  if (c.maxNameBytes > c.maxPathBytes) problems.push(`maxNameBytes (${c.maxNameBytes}) must not exceed maxPathBytes (${c.maxPathBytes})`);
  return problems;
}
