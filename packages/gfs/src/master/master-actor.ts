import { defineActor, type ActorContext } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import type { MasterHaProps } from '../ha/ha-config.ts';
import { isHaMsg, NotMasterError, type MetadataRead } from '../ha/ha-protocol.ts';
import { MasterReplicaRole } from '../ha/replica.ts';
import type { MasterMsg, MasterStatus } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { checkpointAsked, checkpointsDropped, checkpointStep } from './checkpoints.ts';
import { chunkserverMsg } from './chunkserver-link.ts';
import { grantTimedOut } from './leases.ts';
import { MasterHost } from './master-host.ts';
import { clientOp, readMetadata } from './namespace-ops.ts';
import { scan } from './scan.ts';
import { finishSnapshot } from './snapshots.ts';

export interface MasterProps {
  config?: Partial<GfsConfig>;
  /** A replica of a highly available master, elected through the lock service (see ha/). Without it, this is the only master. */
  ha?: MasterHaProps;
}

/**
 * The GFS master: the namespace and file -> chunk metadata, changed only through op-log records
 * that are acknowledged once synced and recovered from the newest checkpoint plus the log after
 * it (checkpoints are written a few pieces per turn beside the mutations); chunk locations
 * learned from chunkserver heartbeats (stale and orphaned replicas are told to go); leases with
 * version raises, extended on request; snapshots that first revoke the leases of their chunks;
 * per-path namespace locks; placement, re-replication, rebalancing and garbage collection.
 * This actor only dispatches: the state and its I/O are MasterHost's; each part is a module of
 * functions over it (namespace-ops, leases, snapshots, chunkserver-link, scan, re-replication,
 * checkpoints), and the rules live in cores with no I/O (lease-grants, lease-windows,
 * replication-plan, garbage-collection, snapshot-revocations, locked-ops, placement,
 * pending-creations, chunk-locations, heartbeat, metadata).
 */
export const Master = defineActor('gfs.master', (props: MasterProps, ctx: ActorContext<MasterMsg>) => {
  const m = new MasterHost(gfsConfig(props.config), ctx);
  ctx.setTimer('scan', m.config.scanIntervalMs, { type: 'scan' }, { repeat: true });
  m.ha = props.ha ? haRole(m, props.ha) : undefined;
  return refusingBadInput(ctx, (msg) => receive(m, msg));
});

function haRole(m: MasterHost, props: MasterHaProps): MasterReplicaRole {
  return new MasterReplicaRole(m.ctx, props, {
    log: () => m.log,
    metadata: () => m.metadata,
    replace: (state) => {
      ({ log: m.log, metadata: m.metadata } = state);
      m.startTerm();
      checkpointsDropped(m);
    },
    mutate: (record) => m.mutate(record),
    read: <K extends MetadataRead['type']>(r: MetadataRead & { type: K }) => readMetadata<K>(m, r),
    leaveOffice: (reason) => leaveOffice(m, reason),
    leaseMs: m.config.leaseMs,
    checkpointRows: m.config.checkpointPieceRows,
  });
}

/** Out of office: every operation in flight fails (the client asks the new master), and nothing of this term goes on. */
function leaveOffice(m: MasterHost, reason: string): void {
  const err = new NotMasterError(`the master stepped down (${reason}); ask the new master`);
  for (const h of m.grants.handles()) m.ctx.cancelTimer(`grant:${h}`);
  for (const w of m.grants.clear()) m.ctx.replyErrorTo(w, err);
  for (const op of m.snapshots.ops()) m.ctx.cancelTimer(`snapshot:${op}`);
  for (const s of m.snapshots.clear()) s.answer.fail(err);
  for (const a of m.ops.clear()) a.fail(err);
  m.creating.clear();
  m.clones.clear();
  m.quiescing = new Set();
}

function receive(m: MasterHost, msg: MasterMsg): void {
  if (isHaMsg(msg)) {
    if (!m.ha) throw new Error(`${msg.type}: this master runs without high availability`);
    return m.ha.receive(msg);
  }
  if (m.ha?.intercept(msg)) return;
  switch (msg.type) {
    case 'mkdir':
    case 'create':
    case 'delete':
    case 'undelete':
    case 'rename':
    case 'snapshot':
    case 'list':
    case 'stat':
    case 'add-chunk':
    case 'locate':
    case 'lease':
      return clientOp(m, msg);
    case 'extend-lease':
    case 'lease-revoked':
    case 'version-raised':
    case 'copy-refused':
    case 'clone-done':
    case 'heartbeat':
    case 'chunk-created':
    case 'bad-replica':
      return chunkserverMsg(m, msg);
    case 'revoke-timeout':
      return finishSnapshot(m, msg.op);
    case 'durable-reply':
      return m.durableReply(msg.id);
    case 'grant-timeout':
      return grantTimedOut(m, msg.handle);
    case 'status':
      return m.ctx.reply(status(m));
    case 'checkpoint':
      return checkpointAsked(m);
    case 'checkpoint-step':
      return checkpointStep(m);
    case 'scan':
      return scan(m);
    default: {
      const never: never = msg;
      m.ctx.unhandled(never);
    }
  }
}

function status(m: MasterHost): MasterStatus {
  let chunks = 0;
  let underReplicated = 0;
  for (const [handle, meta] of m.metadata.chunks()) {
    chunks++;
    if (m.locations.liveReplicas(handle, meta.version).length < m.config.replicas) underReplicated++;
  }
  return {
    servers: [...m.servers.values()]
      .map(({ id, rack, usedBytes, capacityBytes, ref }) => ({ id, rack, usedBytes, capacityBytes, ref, chunks: m.locations.chunksOn(id).length }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
    recordsSinceCheckpoint: m.log.recordsSinceCheckpoint,
    checkpointing: m.checkpointing !== undefined,
    waitingForLocks: m.ops.waitingCount,
    logPosition: m.log.position,
    files: m.metadata.fileCount(),
    chunks,
    underReplicated,
    clonesInFlight: m.clones.list().map(({ handle, source, target }) => ({ handle, source, target })),
  };
}
