import type { ActorContext, ActorRef, ReplyHandle } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { MasterReplicaRole } from '../ha/replica.ts';
import { validatePath } from '../namespace/path.ts';
import type { OpId } from '../namespace/locks.ts';
import type { ChunkserverMsg, MasterMsg } from '../protocol.ts';
import { startCheckpoint, type Checkpointing } from './checkpoints.ts';
import { ChunkLocations, type ServerId } from './chunk-locations.ts';
import type { HeartbeatState } from './heartbeat.ts';
import { LeaseGrants } from './lease-grants.ts';
import { LeaseWindows } from './lease-windows.ts';
import { LockedOps } from './locked-ops.ts';
import { MetadataError, type MasterMetadata } from './metadata.ts';
import { OpLog } from './op-log.ts';
import { PendingCreations } from './pending-creations.ts';
import { RecentCreations, type ServerInfo } from './placement.ts';
import type { ChunkHandle, MetadataRecord } from './records.ts';
import { ClonesInProgress } from './replication-plan.ts';
import { ReportOrder } from './report-order.ts';
import { SnapshotRevocations } from './snapshot-revocations.ts';

export interface ServerState extends ServerInfo {
  ref: ActorRef<ChunkserverMsg>;
  lastSeenMs: number;
}

/** Where an operation's answer goes: in its own turn (replyWhenDurable works) or later, by handle. */
export interface Answer {
  readonly handle: ReplyHandle | undefined;
  reply(value: unknown): void;
  /** Once every log record appended so far is synced. */
  replyDurable(value: unknown): void;
  fail(err: unknown): void;
}

/** A snapshot holding its namespace locks while the primaries of its chunks give their leases up. */
export interface PendingSnapshot {
  source: string;
  target: string;
  answer: Answer;
}

/**
 * The master's state, and the I/O every part of it shares (log records, orders, answers). The
 * parts (namespace-ops, leases, snapshots, chunkserver-link, scan, re-replication, checkpoints)
 * are functions over it; the rules they apply live in cores with no I/O.
 */
export class MasterHost implements HeartbeatState {
  readonly config: GfsConfig;
  log: OpLog;
  metadata: MasterMetadata;
  readonly locations = new ChunkLocations();
  readonly servers = new Map<ServerId, ServerState>();
  readonly recent: RecentCreations;
  readonly grants: LeaseGrants;
  /**
   * New chunks some server has not reported yet. A lease asked for meanwhile raises their version
   * there too. An order unanswered for two heartbeats is sent again (it may be lost).
   */
  readonly creating = new PendingCreations();
  readonly clones = new ClonesInProgress();
  /** The newest message applied from each chunkserver: an older heartbeat's chunk list would undo it. */
  readonly reportOrder = new ReportOrder();
  /**
   * Chunks a clone is planned for while a lease on them runs. A clone copies a replica while no
   * mutation can reach it (else the copy would miss one acknowledged meanwhile), so their leases
   * are not extended, and none is granted until the clone is done. Planned again at every scan.
   */
  quiescing = new Set<ChunkHandle>();
  readonly windows = new LeaseWindows();
  readonly ops: LockedOps<Answer>;
  /** Operations that keep their locks past their turn: snapshots waiting for revocations. */
  readonly snapshots = new SnapshotRevocations<PendingSnapshot>();
  checkpointing: Checkpointing | undefined;
  /** Set once, right after construction, when this master is a replica of a highly available one. */
  ha: MasterReplicaRole | undefined;
  /** The answer of the message being handled, in its own turn. */
  readonly inTurn: Answer;
  private readonly durableReplies = new Map<number, { handle: ReplyHandle; value: unknown }>();
  private nextDurableReply = 1;

  constructor(
    config: GfsConfig,
    readonly ctx: ActorContext<MasterMsg>,
  ) {
    this.config = config;
    ({ log: this.log, metadata: this.metadata } = OpLog.recover(ctx.storage));
    this.recent = new RecentCreations(config);
    this.grants = new LeaseGrants(config.maxLeaseWaiters);
    this.ops = new LockedOps(config.maxLockWaiters);
    this.inTurn = {
      get handle() {
        return ctx.replyHandle();
      },
      reply: (v) => ctx.reply(v),
      replyDurable: (v) => (this.ha ? this.ha.replyLogged(v) : ctx.replyWhenDurable(v)),
      fail: (err) => {
        throw err;
      },
    };
    this.startTerm();
  }

  /** At a (re)start or on taking office: leases granted before may still run, and servers have not all reported. */
  startTerm(): void {
    this.windows.startTerm(this.ctx.now(), this.metadata.newHandle(), this.config);
  }

  versionOf(h: ChunkHandle): number | undefined {
    return this.metadata.chunk(h)?.version;
  }

  /** Why the chunk's lease may not be extended now (a snapshot or a clone waits for it to end), if so. */
  frozen(h: ChunkHandle): string | undefined {
    return this.snapshots.isRevoking(h) ? 'is being snapshotted' : this.quiescing.has(h) ? 'is to be re-replicated' : undefined;
  }

  mutate(record: MetadataRecord): void {
    this.metadata.apply(record); // a record that does not fit throws here and changes nothing
    this.log.append(record);
    this.ha?.appended(record);
    if (this.log.recordsSinceCheckpoint >= this.config.checkpointEveryRecords && !this.checkpointing) startCheckpoint(this, []);
  }

  /** An order to a chunkserver, carrying this master's sequencer when it has one. */
  order<T extends ChunkserverMsg>(msg: T): T {
    return this.ha ? this.ha.fenced(msg) : msg;
  }

  /**
   * Sends an order that tells a chunkserver of a version the master logged (a grant's raise or
   * copy) once that record is safe: synced here, and with high availability also on every in-sync
   * backup, so whichever master follows knows the version before any server holds it (a backup
   * lacking it would take a server left behind at the older version for a live replica).
   */
  orderWhenLogged(to: ActorRef<ChunkserverMsg>, msg: ChunkserverMsg): void {
    if (this.ha) this.ha.sendLogged(to, msg);
    else this.ctx.sendWhenDurable(to, msg);
  }

  /** Sends an order to a registered server (one taken for dead meanwhile is skipped). */
  tell(server: ServerId, msg: ChunkserverMsg): void {
    const s = this.servers.get(server);
    if (s) this.ctx.send(s.ref, this.order(msg));
  }

  knownServer(id: ServerId): ServerState {
    const s = this.servers.get(id);
    if (!s) throw new Error(`unknown chunkserver ${JSON.stringify(id)}: not registered by a heartbeat, or taken for dead since; it must send a heartbeat first`);
    return s;
  }

  /** The answer of an operation that outlives its turn. */
  later(handle: ReplyHandle | undefined): Answer {
    const { ctx } = this;
    return {
      handle,
      reply: (v) => handle && ctx.replyTo(handle, v),
      replyDurable: (v) => {
        if (!handle) return;
        if (this.ha) return this.ha.replyLoggedTo(handle, v);
        this.replyWhenDurable(handle, v);
      },
      fail: (err) => handle && ctx.replyErrorTo(handle, err instanceof Error ? err : String(err)),
    };
  }

  replyWhenDurable(handle: ReplyHandle, value: unknown): void {
    const id = this.nextDurableReply++;
    this.durableReplies.set(id, { handle, value });
    this.ctx.sendWhenDurable(this.ctx.self, { type: 'durable-reply', id });
  }

  /** The log is durable up to a reply's records: it goes out. */
  durableReply(id: number): void {
    const r = this.durableReplies.get(id);
    this.durableReplies.delete(id);
    if (r) this.ctx.replyTo(r.handle, r.value);
  }

  /** Runs `run` under the namespace locks of `paths`, now or once they are free (see LockedOps). */
  locked(paths: { read?: string[]; write?: string[] }, run: (answer: Answer, op: OpId) => void | 'held'): void {
    this.ops.run(paths, run, this.inTurn, () => this.later(this.ctx.replyHandle()));
  }

  pathOf(p: unknown): string {
    return validatePath(p, this.config).path;
  }

  fileChunks(path: string): ChunkHandle[] {
    const entry = this.metadata.get(path);
    if (!entry) throw new MetadataError('not-found', `${path} does not exist`);
    if (entry.kind !== 'file') throw new MetadataError('not-a-file', `${path} is a directory`);
    return entry.chunks;
  }

  chunkAt(path: string, index: number): ChunkHandle {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad chunk index ${JSON.stringify(index)}: an integer >= 0`);
    const handle = this.fileChunks(path)[index];
    if (handle === undefined) throw new MetadataError('not-found', `${path} has no chunk ${String(index)}`);
    return handle;
  }
}
