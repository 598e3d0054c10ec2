import type { ActorRef } from '@actorfs/actors';
import type { CellConfig, ServerMsg } from '@actorfs/lockservice';
import type { MasterMsg } from '../protocol.ts';

/** How a GFS node reaches the lock-service cell that elects the master. */
export interface LockCellRef {
  config: CellConfig;
  servers: ActorRef<ServerMsg>[];
}

/** Backups receive the log synchronously (a mutation waits for them) and may become master; shadows follow behind and only serve reads. */
export type ReplicaRole = 'backup' | 'shadow';

export interface MasterReplica {
  /** Unique among the cell's replicas; the lock file's in-sync list names replicas by it. */
  name: string;
  ref: ActorRef<MasterMsg>;
  role: ReplicaRole;
}

export interface HaTiming {
  /**
   * A backup that lacks records and has acknowledged none for this long at most is dropped from
   * the in-sync set (so mutations go on without it); sooner once its round trips are known (many
   * of them, at least minBackupAckTimeoutMs), and at once when its node is known to be down.
   */
  backupAckTimeoutMs: number;
  /** The least a silent backup is waited for (its round trips may be short, but pauses happen). */
  minBackupAckTimeoutMs: number;
  /** Appends in flight to one replica at once (each continues the one before). */
  maxAppendsInFlight: number;
  /** The master sends an (empty) append to an idle replica this often, so a shadow's lag stays known. */
  pingIntervalMs: number;
  /** Records in one append at most (one catch-up piece). */
  maxRecordsPerAppend: number;
  /** The master keeps at least this many newest records in memory to ship (at most twice as many); a replica further behind than the log holds gets the checkpoint. */
  tailRecords: number;
  /** Mutations waiting for the backups at once; one more is refused. */
  maxWaitingReplies: number;
  /** The lock-service session's events are polled this often (a master steps down within it of its session's jeopardy). */
  pollMs: number;
  /** A replica not eligible to lead (not in the in-sync set) releases the lock and campaigns again after this. */
  ineligibleRetryMs: number;
}

export const DEFAULT_HA_TIMING: HaTiming = {
  backupAckTimeoutMs: 1_000,
  minBackupAckTimeoutMs: 500,
  maxAppendsInFlight: 4,
  pingIntervalMs: 200,
  maxRecordsPerAppend: 1_000,
  tailRecords: 20_000,
  maxWaitingReplies: 10_000,
  pollMs: 50,
  ineligibleRetryMs: 500,
};

/** What a master replica needs for high availability (MasterProps.ha). */
export interface MasterHaProps {
  /** This replica's name (one of `replicas`). */
  self: string;
  /** Every master replica of the GFS cell, this one included. */
  replicas: MasterReplica[];
  lock: LockCellRef;
  timing?: Partial<HaTiming>;
}

/** The lock file whose holder is the GFS master: `/ls/<cell>/gfs/master`. */
export function masterLockPath(lock: LockCellRef): string {
  return `/ls/${lock.config.db.cell}/gfs/master`;
}

export function haTiming(t: Partial<HaTiming> = {}): HaTiming {
  const timing = { ...DEFAULT_HA_TIMING, ...t };
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`GFS HA: timing ${name} must be a positive integer, got ${String(value)}`);
  }
  return timing;
}

/** A replica set that can work: names unique, self among them. */
export function replicasProblem(props: MasterHaProps): string | undefined {
  const names = props.replicas.map((r) => r.name);
  if (new Set(names).size !== names.length) return `replica names must differ, got ${names.join(', ')}`;
  const self = props.replicas.find((r) => r.name === props.self);
  if (!self) return `self ${props.self} is not among the replicas (${names.join(', ')})`;
  return undefined;
}
