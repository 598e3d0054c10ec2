import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import { validatePath } from '../namespace/path.ts';
import type { MasterHaProps } from '../ha/ha-config.ts';
import { isHaMsg, NotMasterError, type MetadataRead, type MetadataReadResults } from '../ha/ha-protocol.ts';
import { MasterReplicaRole } from '../ha/replica.ts';
import type { ChunkLease, ChunkserverMsg, MasterMsg, MasterStatus } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChunkLocations, type Lease, type ServerId } from './chunk-locations.ts';
import { extendLease, heartbeatProblem, primaryReplicas, stepHeartbeat, type Heartbeat, type HeartbeatState } from './heartbeat.ts';
import { LeaseGrants, lostRaiseTargets, raiseTargets, type GrantOutcome } from './lease-grants.ts';
import { MetadataError, type MasterMetadata } from './metadata.ts';
import { OpLog, type PendingCheckpoint } from './op-log.ts';
import type { OpId } from '../namespace/locks.ts';
import { LockedOps } from './locked-ops.ts';
import { PendingCreations } from './pending-creations.ts';
import { placeNewChunk, RecentCreations, type ServerInfo } from './placement.ts';
import type { MetadataRecord } from './records.ts';
import { ClonesInProgress, planReplication, type ReplicationPlan } from './replication-plan.ts';
import { ReportOrder, stampProblem } from './report-order.ts';
import { SnapshotRevocations } from './snapshot-revocations.ts';

export interface MasterProps {
  config?: Partial<GfsConfig>;
  /** A replica of a highly available master, elected through the lock service (see ha/). Without it, this is the only master. */
  ha?: MasterHaProps;
}

interface ServerState extends ServerInfo {
  ref: ActorRef<ChunkserverMsg>;
  lastSeenMs: number;
}

/** Hidden files reclaimed per scan at most (the rest wait for the next scan). */
const RECLAIM_PER_SCAN = 1000;
/**
 * A dead chunkserver's report stamp is dropped after this many server timeouts: by then no report
 * it sent before it went silent is still in flight (the master heard nothing from it meanwhile).
 */
const STAMP_KEPT_SERVER_TIMEOUTS = 10;
/** Checkpoint pieces written per commit: the mutations between them are never stopped for long. */
const CHECKPOINT_PIECES_PER_TURN = 4;
/** Explicit checkpoint requests waiting at once; one more is refused. */
const MAX_CHECKPOINT_WAITERS = 100;

/** Where an operation's answer goes: in its own turn (replyWhenDurable works) or later, by handle. */
interface Answer {
  readonly handle: ReplyHandle | undefined;
  reply(value: unknown): void;
  /** Once every log record appended so far is synced. */
  replyDurable(value: unknown): void;
  fail(err: unknown): void;
}

/** A snapshot holding its namespace locks while the primaries of its chunks give their leases up. */
interface PendingSnapshot {
  source: string;
  target: string;
  answer: Answer;
}

/**
 * The GFS master: the namespace and file -> chunk metadata, changed only through op-log records
 * that are acknowledged once synced and recovered from the newest checkpoint plus the log after
 * it (checkpoints are written a few pieces per turn beside the mutations); chunk locations
 * learned from chunkserver heartbeats (stale and orphaned replicas are told to go); leases with
 * version raises, extended on request; snapshots that first revoke the leases of their chunks;
 * per-path namespace locks; placement, re-replication, rebalancing and garbage collection.
 * The rules live in cores with no I/O (lease-grants, replication-plan, garbage-collection,
 * snapshot-revocations, locked-ops, placement, pending-creations, chunk-locations, metadata);
 * this actor feeds them and carries out what they decide (orders, log records, timers, replies).
 */
export const Master = defineActor('gfs.master', (props: MasterProps, ctx: ActorContext<MasterMsg>) => {
  const master = new MasterHost(props, ctx);
  return refusingBadInput(ctx, (msg) => master.receive(msg));
});

/** The master's state and the effects its cores decide on; one per actor, driven by `receive`. */
class MasterHost {
  private readonly config: GfsConfig;
  private log: OpLog;
  private metadata: MasterMetadata;
  private readonly locations = new ChunkLocations();
  private readonly servers = new Map<ServerId, ServerState>();
  private readonly recent: RecentCreations;
  private readonly grants: LeaseGrants;
  /**
   * New chunks some server has not reported yet. A lease asked for meanwhile raises their version
   * there too. An order unanswered for two heartbeats is sent again (it may be lost).
   */
  private readonly creating = new PendingCreations();
  private readonly clones = new ClonesInProgress();
  /** The newest message applied from each chunkserver: an older heartbeat's chunk list would undo it. */
  private readonly reportOrder = new ReportOrder();
  /**
   * Chunks a clone is planned for while a lease on them runs. A clone copies a replica while no
   * mutation can reach it (else the copy would miss one acknowledged meanwhile), so their leases
   * are not extended, and none is granted until the clone is done. Planned again at every scan.
   */
  private quiescing = new Set<number>();
  /**
   * Leases live only in memory: one granted before this (re)start may still run at its primary,
   * unknown here, for up to leaseMs. Until then a chunk that existed at the start is taken as
   * leased (no clone copies it and no snapshot shares it while a mutation may still reach it).
   * A replica taking office as master (high availability) starts this window again.
   */
  private handlesAtStart = 0;
  private leasesForgottenUntilMs = 0;
  /**
   * Leases the master revoked without their holder's acknowledgement (the holder taken for dead,
   * or the revocation lost): the holder, partitioned rather than dead, may still order mutations
   * until the lease's expiry, so until then no clone copies the chunk and no snapshot shares it.
   * An entry goes at the next scan after it expires (at most one per chunk).
   */
  private readonly unackedLeases = new Map<number, number>();
  /** From then on every live chunkserver has reported since this (re)start: a chunk none reported is held by none alive. */
  private reportedAllByMs = 0;
  private readonly ops: LockedOps<Answer>;
  /** What a heartbeat's step and a lease extension read and update (see heartbeat.ts). */
  private readonly cores: HeartbeatState;
  /** Operations that keep their locks past their turn: snapshots waiting for revocations. */
  private readonly snapshots = new SnapshotRevocations<PendingSnapshot>();
  private readonly durableReplies = new Map<number, { handle: ReplyHandle; value: unknown }>();
  private nextDurableReply = 1;
  private checkpointing: { pending: PendingCheckpoint; waiters: ReplyHandle[]; again: ReplyHandle[] } | undefined;
  private readonly ha: MasterReplicaRole | undefined;
  /** The answer of the message being handled, in its own turn. */
  private readonly inTurn: Answer;

  constructor(
    props: MasterProps,
    private readonly ctx: ActorContext<MasterMsg>,
  ) {
    this.config = gfsConfig(props.config);
    ({ log: this.log, metadata: this.metadata } = OpLog.recover(ctx.storage));
    this.recent = new RecentCreations(this.config);
    this.grants = new LeaseGrants(this.config.maxLeaseWaiters);
    this.ops = new LockedOps(this.config.maxLockWaiters);
    this.cores = {
      locations: this.locations,
      creating: this.creating,
      clones: this.clones,
      grants: this.grants,
      versionOf: (h) => this.versionOf(h),
      frozen: (h) => (this.snapshots.isRevoking(h) ? 'is being snapshotted' : this.quiescing.has(h) ? 'is to be re-replicated' : undefined),
    };
    this.startTerm();
    ctx.setTimer('scan', this.config.scanIntervalMs, { type: 'scan' }, { repeat: true });
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
    this.ha = props.ha ? this.haRole(props.ha) : undefined;
  }

  private haRole(props: MasterHaProps): MasterReplicaRole {
    return new MasterReplicaRole(this.ctx, props, {
      log: () => this.log,
      metadata: () => this.metadata,
      replace: (state) => {
        ({ log: this.log, metadata: this.metadata } = state);
        this.startTerm();
        const c = this.checkpointing;
        for (const w of [...(c?.waiters ?? []), ...(c?.again ?? [])]) this.ctx.replyErrorTo(w, "the log was replaced by the master's checkpoint");
        this.checkpointing = undefined;
      },
      mutate: (record) => this.mutate(record),
      read: this.read.bind(this),
      leaveOffice: (reason) => this.leaveOffice(reason),
      leaseMs: this.config.leaseMs,
      checkpointRows: this.config.checkpointPieceRows,
    });
  }

  /** At a (re)start or on taking office: leases granted before may still run, and servers have not all reported. */
  private startTerm(): void {
    this.handlesAtStart = this.metadata.newHandle();
    this.leasesForgottenUntilMs = this.ctx.now() + this.config.leaseMs;
    this.reportedAllByMs = this.ctx.now() + this.config.serverTimeoutMs;
  }

  private mayHaveForgottenLease(h: number, now: number): boolean {
    return h < this.handlesAtStart && now < this.leasesForgottenUntilMs;
  }

  private pathOf(p: unknown): string {
    return validatePath(p, this.config).path;
  }

  private mutate(record: MetadataRecord): void {
    this.metadata.apply(record); // a record that does not fit throws here and changes nothing
    this.log.append(record);
    this.ha?.appended(record);
    if (this.log.recordsSinceCheckpoint >= this.config.checkpointEveryRecords && !this.checkpointing) this.startCheckpoint([]);
  }

  private versionOf(h: number): number | undefined {
    return this.metadata.chunk(h)?.version;
  }

  /** An order to a chunkserver, carrying this master's sequencer when it has one. */
  private order<T extends ChunkserverMsg>(msg: T): T {
    return this.ha ? this.ha.fenced(msg) : msg;
  }

  /** The answer of an operation that outlives its turn. */
  private later(handle: ReplyHandle | undefined): Answer {
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

  private replyWhenDurable(handle: ReplyHandle, value: unknown): void {
    const id = this.nextDurableReply++;
    this.durableReplies.set(id, { handle, value });
    this.ctx.sendWhenDurable(this.ctx.self, { type: 'durable-reply', id });
  }

  /** Runs `run` under the namespace locks of `paths`, now or once they are free (see LockedOps). */
  private locked(paths: { read?: string[]; write?: string[] }, run: (answer: Answer, op: OpId) => void | 'held'): void {
    this.ops.run(paths, run, this.inTurn, () => this.later(this.ctx.replyHandle()));
  }

  read<K extends MetadataRead['type']>(r: MetadataRead & { type: K }): MetadataReadResults[K];
  read(r: MetadataRead): MetadataReadResults[MetadataRead['type']] {
    switch (r.type) {
      case 'list':
        return this.metadata.list(this.pathOf(r.path)).map(({ name, entry }) => ({ name, kind: entry.kind }));
      case 'stat': {
        const entry = this.metadata.get(this.pathOf(r.path));
        if (!entry) throw new MetadataError('not-found', `${r.path} does not exist`);
        return entry.kind === 'dir' ? { kind: 'dir' } : { kind: 'file', chunks: entry.chunks.length };
      }
      case 'locate': {
        const handle = this.chunkAt(this.pathOf(r.path), r.index);
        const version = this.versionOf(handle)!;
        return { handle, version, replicas: this.locations.liveReplicas(handle, version) };
      }
      default: {
        const never: never = r;
        throw new Error(`unknown read ${JSON.stringify(never)}`);
      }
    }
  }

  /** Out of office: every operation in flight fails (the client asks the new master), and nothing of this term goes on. */
  private leaveOffice(reason: string): void {
    const err = new NotMasterError(`the master stepped down (${reason}); ask the new master`);
    for (const h of this.grants.handles()) this.ctx.cancelTimer(`grant:${h}`);
    for (const w of this.grants.clear()) this.ctx.replyErrorTo(w, err);
    for (const op of this.snapshots.ops()) this.ctx.cancelTimer(`snapshot:${op}`);
    for (const s of this.snapshots.clear()) s.answer.fail(err);
    for (const a of this.ops.clear()) a.fail(err);
    this.creating.clear();
    this.clones.clear();
    this.quiescing = new Set();
  }

  receive(msg: MasterMsg): void {
    if (isHaMsg(msg)) {
      if (!this.ha) throw new Error(`${msg.type}: this master runs without high availability`);
      return this.ha.receive(msg);
    }
    if (this.ha?.intercept(msg)) return;
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
        return this.clientOp(msg);
      case 'extend-lease':
      case 'lease-revoked':
      case 'version-raised':
      case 'copy-refused':
      case 'clone-done':
      case 'heartbeat':
      case 'chunk-created':
      case 'bad-replica':
        return this.chunkserverMsg(msg);
      case 'revoke-timeout':
        return this.finishSnapshot(msg.op);
      case 'durable-reply': {
        const r = this.durableReplies.get(msg.id);
        this.durableReplies.delete(msg.id);
        if (r) this.ctx.replyTo(r.handle, r.value);
        return;
      }
      case 'grant-timeout':
        return this.grantTimedOut(msg.handle);
      case 'status':
        return this.ctx.reply(this.status());
      case 'checkpoint':
        return this.checkpointAsked();
      case 'checkpoint-step':
        return this.checkpointStep();
      case 'scan':
        return this.scan();
      default: {
        const never: never = msg;
        this.ctx.unhandled(never);
      }
    }
  }

  private clientOp(msg: Extract<MasterMsg, { type: 'mkdir' | 'create' | 'delete' | 'undelete' | 'rename' | 'snapshot' | 'list' | 'stat' | 'add-chunk' | 'locate' | 'lease' }>): void {
    switch (msg.type) {
      case 'mkdir':
      case 'create': {
        const path = this.pathOf(msg.path);
        return this.locked({ write: [path] }, (a) => this.mutateAndAnswer({ type: msg.type, path }, a));
      }
      case 'delete': {
        const path = this.pathOf(msg.path);
        return this.locked({ write: [path] }, (a) => this.mutateAndAnswer({ type: 'delete', path, atMs: this.metadata.deletionTime(this.ctx.now()) }, a));
      }
      case 'undelete': {
        const path = this.pathOf(msg.path);
        return this.locked({ write: [path] }, (a) => {
          const hidden = this.metadata.deletedVersionsOf(path).pop();
          if (!hidden) throw new MetadataError('not-found', `no deleted file ${path} to undelete`);
          this.mutateAndAnswer({ type: 'undelete', hiddenPath: hidden }, a);
        });
      }
      case 'rename': {
        const [from, to] = [this.pathOf(msg.from), this.pathOf(msg.to)];
        return this.locked({ write: [from, to] }, (a) => this.mutateAndAnswer({ type: 'rename', from, to }, a));
      }
      case 'snapshot': {
        const [source, target] = [this.pathOf(msg.source), this.pathOf(msg.target)];
        return this.locked({ write: [source, target] }, (a, op) => this.startSnapshot(op, source, target, a));
      }
      case 'list':
      case 'stat': {
        const path = this.pathOf(msg.path);
        return this.locked({ read: [path] }, (a) => a.reply(this.read({ type: msg.type, path })));
      }
      case 'add-chunk': {
        const path = this.pathOf(msg.path);
        return this.locked({ write: [path] }, (a) => this.addChunk(path, msg.index, a));
      }
      case 'locate': {
        const path = this.pathOf(msg.path);
        return this.locked({ read: [path] }, (a) => a.reply(this.read({ type: 'locate', path, index: msg.index })));
      }
      case 'lease': {
        const path = this.pathOf(msg.path);
        // a write lock: the first lease after a snapshot gives the file a chunk of its own
        return this.locked({ write: [path] }, (a) => this.leaseAsked(path, msg.index, a));
      }
      default: {
        const never: never = msg;
        this.ctx.unhandled(never);
      }
    }
  }

  private mutateAndAnswer(record: MetadataRecord, answer: Answer): void {
    this.mutate(record);
    answer.replyDurable(true);
  }

  private chunkserverMsg(msg: Extract<MasterMsg, { type: 'extend-lease' | 'lease-revoked' | 'version-raised' | 'copy-refused' | 'clone-done' | 'heartbeat' | 'chunk-created' | 'bad-replica' }>): void {
    if (msg.type === 'extend-lease') return this.extendAsked(msg);
    const problem = stampProblem(msg.stamp);
    if (problem) throw new Error(`${msg.type} from ${String(msg.server)}: ${problem}`);
    if (msg.type === 'heartbeat' && this.reportOrder.isOutdated(msg.server, msg.stamp)) return this.outdatedHeartbeat(msg);
    this.applyReport(msg);
    // (not reached if the message was refused; only registered servers are tracked)
    if (this.servers.has(msg.server)) this.reportOrder.applied(msg.server, msg.stamp);
  }

  /** A heartbeat sent before a message already applied from its server: it counts for liveness, its chunk list is out of date. */
  private outdatedHeartbeat(msg: Heartbeat): void {
    const problem = heartbeatProblem(msg);
    if (problem) throw new Error(`malformed heartbeat: ${problem}`);
    const known = this.servers.get(msg.server);
    if (known) known.lastSeenMs = this.ctx.now();
  }

  private applyReport(msg: Extract<MasterMsg, { type: 'lease-revoked' | 'version-raised' | 'copy-refused' | 'clone-done' | 'heartbeat' | 'chunk-created' | 'bad-replica' }>): void {
    switch (msg.type) {
      case 'lease-revoked':
        return this.leaseRevoked(msg.server, msg.handle);
      case 'version-raised': {
        const step = this.grants.raised(msg.server, msg.handle, msg.version, this.servers.has(msg.server));
        this.knownServer(msg.server);
        if (step === 'ignored') return;
        this.locations.addReplica(msg.server, msg.handle, msg.version);
        if (step === 'done') this.finishGrant(msg.handle);
        return;
      }
      case 'copy-refused': {
        this.knownServer(msg.server);
        this.ctx.log.warn('a copy after a snapshot was refused: its source is at another version', { handle: msg.handle, server: msg.server, from: msg.from, fromVersion: msg.fromVersion, heldVersion: msg.heldVersion });
        if (this.grants.refused(msg.server, msg.handle) === 'done') this.finishGrant(msg.handle);
        return;
      }
      case 'clone-done': {
        if (this.clones.get(msg.handle)?.target !== msg.server) return;
        this.clones.ended(msg.handle);
        this.knownServer(msg.server);
        if (msg.error !== undefined) this.ctx.log.warn('clone failed', { handle: msg.handle, target: msg.server, error: msg.error });
        else if (this.versionOf(msg.handle) === msg.version) this.locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      }
      case 'heartbeat':
        return this.heartbeat(msg);
      case 'chunk-created':
        this.knownServer(msg.server);
        this.creating.reported(msg.server, msg.handle);
        if (this.versionOf(msg.handle) === msg.version) this.locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      case 'bad-replica': {
        const s = this.knownServer(msg.server);
        this.ctx.log.warn('bad replica', { server: msg.server, handle: msg.handle, reason: msg.reason });
        this.locations.removeReplica(msg.server, msg.handle);
        this.ctx.send(s.ref, this.order({ type: 'delete-chunks', handles: [msg.handle] }));
        return;
      }
      default: {
        const never: never = msg;
        this.ctx.unhandled(never);
      }
    }
  }

  private extendAsked(msg: Extract<MasterMsg, { type: 'extend-lease' }>): void {
    this.knownServer(msg.server);
    let expiresAtMs: number;
    try {
      expiresAtMs = this.extendLease(msg.server, msg.handle, msg.version ?? this.versionOf(msg.handle) ?? -1);
    } catch (err) {
      if (this.ctx.replyHandle()) throw err;
      return; // a tell: the primary's lease runs out and it asks for a new one
    }
    this.ctx.reply({ expiresAtMs });
  }

  private status(): MasterStatus {
    let chunks = 0;
    let underReplicated = 0;
    for (const [handle, meta] of this.metadata.chunks()) {
      chunks++;
      if (this.locations.liveReplicas(handle, meta.version).length < this.config.replicas) underReplicated++;
    }
    return {
      servers: [...this.servers.values()]
        .map(({ id, rack, usedBytes, capacityBytes, ref }) => ({ id, rack, usedBytes, capacityBytes, ref, chunks: this.locations.chunksOn(id).length }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      recordsSinceCheckpoint: this.log.recordsSinceCheckpoint,
      checkpointing: this.checkpointing !== undefined,
      waitingForLocks: this.ops.waitingCount,
      logPosition: this.log.position,
      files: this.metadata.fileCount(),
      chunks,
      underReplicated,
      clonesInFlight: this.clones.list().map(({ handle, source, target }) => ({ handle, source, target })),
    };
  }

  /**
   * Creations unanswered for two heartbeats are ordered again (a raise since then follows on the
   * same link), also to a server taken for dead meanwhile once it is back: the orders may all have
   * been lost (a partition). Once some server holds the chunk at its version, re-replication
   * restores the rest (a copy made at version 1 after a grant raised the chunk is taken in by the
   * grant, which raises it too).
   */
  private createAgain(now: number): void {
    for (const { handle, servers: ids } of this.creating.due(now, 2 * this.config.heartbeatIntervalMs)) {
      const version = this.versionOf(handle);
      if (version === undefined || this.locations.liveReplicas(handle, version).length > 0) {
        this.creating.forget(handle);
        continue;
      }
      for (const id of ids) {
        const s = this.servers.get(id);
        if (s) this.ctx.send(s.ref, this.order({ type: 'create-chunk', handle, version: 1 }));
      }
    }
  }

  private knownServer(id: ServerId): ServerState {
    const s = this.servers.get(id);
    if (!s) throw new Error(`unknown chunkserver ${JSON.stringify(id)}: not registered by a heartbeat, or taken for dead since; it must send a heartbeat first`);
    return s;
  }

  private checkpointAsked(): void {
    const waiter = this.ctx.replyHandle();
    const c = this.checkpointing;
    if (!c) return this.startCheckpoint(waiter ? [waiter] : []);
    if (c.waiters.length + c.again.length >= MAX_CHECKPOINT_WAITERS) throw new Error(`${MAX_CHECKPOINT_WAITERS} checkpoint requests already wait`);
    // the running one may not cover this request's records: another starts when it ends
    if (waiter) c.again.push(waiter);
  }

  /** Starts a checkpoint of the metadata as it is now; its pieces are written over the next turns. */
  private startCheckpoint(waiters: ReplyHandle[]): void {
    const pending = this.log.startCheckpoint(this.metadata, this.config.checkpointPieceRows);
    if (!pending) {
      for (const w of waiters) this.ctx.replyTo(w, 0);
      return;
    }
    this.checkpointing = { pending, waiters, again: [] };
    this.ctx.send(this.ctx.self, { type: 'checkpoint-step' });
  }

  private checkpointStep(): void {
    const c = this.checkpointing;
    if (!c) return;
    // the next pieces once these are synced: a checkpoint takes a bounded share of each commit
    if (!this.log.writePieces(c.pending, CHECKPOINT_PIECES_PER_TURN)) return this.ctx.sendWhenDurable(this.ctx.self, { type: 'checkpoint-step' });
    this.checkpointing = undefined;
    for (const w of c.waiters) this.replyWhenDurable(w, c.pending.pieces.length);
    if (c.again.length > 0) this.startCheckpoint(c.again);
  }

  /**
   * A snapshot, under write locks on its source and target: the leases of the source's chunks
   * are revoked first (their primaries told, and answered or expired), so no primary orders a
   * write to a chunk after it is shared; then the snapshot is logged and the locks let go.
   */
  private startSnapshot(op: OpId, source: string, target: string, answer: Answer): 'held' | undefined {
    if (!this.metadata.get(source)) throw new MetadataError('not-found', `${source} does not exist`);
    if (this.metadata.get(target)) throw new MetadataError('exists', `${target} already exists`);
    const now = this.ctx.now();
    const { untilMs, revoke } = this.snapshots.begin(
      op,
      this.metadata.chunksUnder(source),
      now,
      (h) => this.locations.lease(h, now),
      // (a lease forgotten in a restart cannot be revoked: the snapshot waits for its end)
      (h) => Math.max(this.mayHaveForgottenLease(h, now) ? this.leasesForgottenUntilMs : now, this.unackedLeases.get(h) ?? now),
      (waits) => ({ source, target, answer: waits && answer === this.inTurn ? this.later(this.ctx.replyHandle()) : answer }),
    );
    for (const { handle, holder } of revoke) {
      const s = this.servers.get(holder);
      if (s) this.ctx.send(s.ref, this.order({ type: 'revoke-lease', handle }));
    }
    if (untilMs <= now) {
      this.finishSnapshot(op, false);
      return undefined;
    }
    // an unanswered revocation ends with the lease itself
    this.ctx.setTimer(`snapshot:${op}`, untilMs - now, { type: 'revoke-timeout', op });
    return 'held';
  }

  private leaseRevoked(server: ServerId, handle: number): void {
    for (const op of this.snapshots.revoked(server, handle, (h) => this.mayHaveForgottenLease(h, this.ctx.now()))) this.finishSnapshot(op);
  }

  private finishSnapshot(op: OpId, releaseLocks = true): void {
    const ended = this.snapshots.end(op);
    if (!ended) return;
    this.ctx.cancelTimer(`snapshot:${op}`);
    // answered or expired: the next write asks for a new lease, and so finds its chunk shared
    for (const h of ended.handles) this.locations.revokeLease(h);
    const { source, target, answer } = ended.payload;
    try {
      this.mutate({ type: 'snapshot', source, target });
      answer.replyDurable(true);
    } catch (err) {
      answer.fail(err);
    } finally {
      if (releaseLocks) this.ops.release(op);
    }
  }

  /** A running lease of `server` on the chunk gets leaseMs more, and the primary is told; refused while the chunk is being snapshotted. */
  private extendLease(server: ServerId, handle: number, version: number): number {
    const lease = extendLease(this.cores, server, handle, version, { nowMs: this.ctx.now(), leaseMs: this.config.leaseMs });
    this.tellPrimary(handle, version, lease);
    return lease.expiresAtMs;
  }

  private fileChunks(path: string): number[] {
    const entry = this.metadata.get(path);
    if (!entry) throw new MetadataError('not-found', `${path} does not exist`);
    if (entry.kind !== 'file') throw new MetadataError('not-a-file', `${path} is a directory`);
    return entry.chunks;
  }

  private chunkAt(path: string, index: number): number {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad chunk index ${JSON.stringify(index)}: an integer >= 0`);
    const handle = this.fileChunks(path)[index];
    if (handle === undefined) throw new MetadataError('not-found', `${path} has no chunk ${String(index)}`);
    return handle;
  }

  /** The master forgets the lease and tells its holder, which stops ordering mutations of the chunk. */
  private revokeLease(handle: number): void {
    const lease = this.locations.lease(handle, this.ctx.now());
    const holder = lease?.holder;
    if (lease) this.unackedLeases.set(handle, Math.max(lease.expiresAtMs, this.unackedLeases.get(handle) ?? 0));
    if (holder !== undefined) {
      const s = this.servers.get(holder);
      if (s) this.ctx.send(s.ref, this.order({ type: 'revoke-lease', handle }));
    }
    this.locations.revokeLease(handle);
  }

  /**
   * The primary learns of its lease from the master (told again with every answer naming it, so a
   * lost grant is not fatal), with the replicas it forwards mutations to (see primaryReplicas).
   */
  private tellPrimary(handle: number, version: number, lease: Lease, replicaIds = primaryReplicas(this.cores, handle, version)): void {
    const s = this.servers.get(lease.holder);
    const replicas = replicaIds.flatMap((id) => this.servers.get(id)?.ref ?? []);
    if (s) this.ctx.send(s.ref, this.order({ type: 'lease-granted', handle, version, durationMs: lease.expiresAtMs - this.ctx.now(), replicas }));
  }

  private leaseAnswer(handle: number, version: number, lease: Lease): ChunkLease {
    return { handle, version, replicas: this.locations.liveReplicas(handle, version), primary: lease.holder, expiresAtMs: lease.expiresAtMs };
  }

  private leaseAsked(path: string, index: number, answer: Answer): void {
    const handle = this.chunkAt(path, index);
    const waiter = answer.handle;
    if (!waiter) return;
    if (this.snapshots.isRevoking(handle)) throw new Error(`chunk ${handle} is being snapshotted; ask again`);
    return this.metadata.chunk(handle)!.refs > 1 ? this.copyOnWrite(path, index, handle, waiter) : this.requestLease(handle, waiter);
  }

  /**
   * Answers with the running lease, or starts a grant: the raised version is logged, and only
   * once it is durable do the live replicas hear of it; the lease goes out when they have all
   * persisted it (or, at the timeout, to those that did). Requests meanwhile wait on that grant.
   */
  private requestLease(handle: number, waiter: ReplyHandle): void {
    const version = this.versionOf(handle)!;
    const lease = this.locations.lease(handle, this.ctx.now());
    if (lease) {
      this.tellPrimary(handle, version, lease);
      return this.ctx.replyTo(waiter, this.leaseAnswer(handle, version, lease));
    }
    if (this.clones.has(handle) || this.quiescing.has(handle)) throw new Error(`chunk ${handle} is being re-replicated; ask again`);
    if (this.grants.copyingFrom(handle)) throw new Error(`chunk ${handle} is being copied for a snapshot's file; ask again`);
    if (this.grants.has(handle)) return this.grants.wait(handle, waiter);
    const targets = raiseTargets(this.locations.liveReplicas(handle, version), this.creating.on(handle), (id) => this.servers.has(id), () => this.lostRaiseTargets(handle, version));
    if (targets.length === 0) throw new Error(`chunk ${handle}: no live replica to grant a lease to`);
    const next = version + 1;
    this.mutate({ type: 'set-version', handle, version: next, raisedOn: targets });
    this.startGrant(handle, next, targets, waiter, { type: 'raise-version', handle, version: next });
  }

  private lostRaiseTargets(handle: number, version: number): ServerId[] {
    const targets = lostRaiseTargets(this.metadata.lastRaise(handle), version, (id) => this.servers.has(id), (id) => this.locations.olderVersion(id, handle));
    if (targets.length > 0) this.ctx.log.warn('a version raise reached no replica before the master restarted; raising again', { handle, version, servers: targets.join(',') });
    return targets;
  }

  /** Sends `order` to the servers once the log is durable, and waits for their version-raised. */
  private startGrant(handle: number, version: number, servers: ServerId[], waiter: ReplyHandle | undefined, raise: ChunkserverMsg): void {
    const fenced = this.order(raise);
    this.grants.start(handle, version, servers, waiter, fenced);
    for (const id of servers) this.ctx.sendWhenDurable(this.servers.get(id)!.ref, fenced);
    this.ctx.setTimer(`grant:${handle}`, this.config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
  }

  private grantTimedOut(handle: number): void {
    const step = this.grants.timedOut(handle, (id) => this.servers.has(id));
    if (!step) return;
    if (step.kind === 'finish') return this.finishGrant(handle);
    for (const w of step.failed) this.ctx.replyErrorTo(w, `chunk ${handle}: no replica answered the version raise yet; ask again`);
    // with none left, the grant waits for a replica at the version before the raise to report
    // again (see heartbeat): no lease went out at the new version, so that replica is current
    if (step.kind === 'stalled') return this.ctx.log.warn('no live replica took a raised version yet; waiting for one to report', { handle, version: this.grants.get(handle)!.version });
    // (a copy order sent again is safe: it names the exact source version, refused if that moved on)
    const order = this.grants.get(handle)!.order;
    for (const id of step.resendTo) this.ctx.send(this.servers.get(id)!.ref, order);
    this.ctx.setTimer(`grant:${handle}`, this.config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
  }

  /**
   * The first lease asked for a chunk shared since a snapshot: the file gets its own chunk, which
   * every live replica of the shared one copies locally (no data crosses the network), at a
   * raised version; the lease then goes out on the copy as for any grant.
   */
  private copyOnWrite(path: string, index: number, shared: number, waiter: ReplyHandle): void {
    const version = this.versionOf(shared)!;
    const live = this.locations.liveReplicas(shared, version);
    if (live.length === 0) throw new Error(`chunk ${shared}: no live replica to copy for ${path}`);
    const handle = this.metadata.newHandle();
    this.mutate({ type: 'copy-on-write', path, index, handle });
    this.mutate({ type: 'set-version', handle, version: version + 1 });
    this.startGrant(handle, version + 1, live, waiter, { type: 'copy-chunk', from: shared, fromVersion: version, to: handle, version: version + 1 });
  }

  /** Replicas that did not persist the raised version are stale from now on (their next report has them deleted). */
  private finishGrant(handle: number): void {
    const g = this.grants.get(handle);
    if (!g) return;
    this.ctx.cancelTimer(`grant:${handle}`);
    const outcome = this.grants.finish(handle, this.locations.liveReplicas(handle, g.version), this.metadata.chunk(handle)!.refs > 1)!;
    this.answerGrant(handle, outcome);
  }

  private answerGrant(handle: number, outcome: GrantOutcome): void {
    switch (outcome.kind) {
      case 'shared':
        for (const w of outcome.waiters) this.ctx.replyErrorTo(w, `chunk ${handle} was shared by a snapshot during the lease grant; ask again`);
        return;
      case 'no-replica':
        for (const w of outcome.waiters) this.ctx.replyErrorTo(w, `chunk ${handle}: no live replica took version ${outcome.version}`);
        return;
      case 'lease': {
        const lease = this.locations.grantLease(handle, outcome.primary, this.ctx.now(), this.config.leaseMs);
        this.tellPrimary(handle, outcome.version, lease);
        for (const w of outcome.waiters) this.ctx.replyTo(w, this.leaseAnswer(handle, outcome.version, lease));
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown grant outcome ${JSON.stringify(never)}`);
      }
    }
  }

  private addChunk(path: string, index: number | undefined, answer: Answer): void {
    const existing = this.fileChunks(path);
    if (index !== undefined) {
      if (!Number.isSafeInteger(index) || index < 0) throw new Error(`add-chunk: bad index ${String(index)}`);
      const handle = existing[index];
      if (handle !== undefined) return answer.reply({ handle, replicas: this.locations.liveReplicas(handle, this.versionOf(handle)!) });
    }
    const now = this.ctx.now();
    const replicas = placeNewChunk([...this.servers.values()], this.config.replicas, this.recent, now);
    if (replicas.length === 0) throw new Error('no chunkserver can take a new chunk');
    const handle = this.metadata.newHandle();
    this.mutate({ type: 'add-chunk', path, handle });
    this.orderCreation(handle, replicas, now);
    answer.replyDurable({ handle, replicas });
  }

  /** Orders the servers placed for a new (empty, never leased) chunk to create it. */
  private orderCreation(handle: number, replicas: ServerId[], now: number): void {
    this.creating.ordered(handle, replicas, now);
    for (const id of replicas) {
      this.recent.record(id, now);
      // the chunk exists on a server only once the master's record of it is durable: never an orphan by a race
      this.ctx.sendWhenDurable(this.servers.get(id)!.ref, this.order({ type: 'create-chunk', handle, version: 1 }));
    }
  }

  /** Registers the server, and carries out what the heartbeat's step decides (see stepHeartbeat). */
  private heartbeat(msg: Heartbeat): void {
    const problem = heartbeatProblem(msg);
    if (problem) throw new Error(`malformed heartbeat: ${problem}`);
    const now = this.ctx.now();
    this.servers.set(msg.server, { id: msg.server, rack: msg.rack, usedBytes: msg.usedBytes, capacityBytes: msg.capacityBytes, ref: msg.ref, lastSeenMs: now });
    const timing = { nowMs: now, leaseMs: this.config.leaseMs, heartbeatIntervalMs: this.config.heartbeatIntervalMs };
    const effects = stepHeartbeat(msg, this.cores, timing, this.ha !== undefined && !this.ha.serving);
    for (const e of effects.extended) this.tellPrimary(e.handle, e.version, e.lease, e.replicas);
    for (const handle of effects.grantOrders) {
      this.ctx.send(msg.ref, this.grants.get(handle)!.order);
      this.ctx.setTimer(`grant:${handle}`, this.config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
    }
    // (replicas still recorded at the old version are not handed out from now on; each one's own
    // next report shows whether it is stale, so none is deleted on an outdated view)
    for (const { handle, version } of effects.adopt) if (version > this.versionOf(handle)!) this.mutate({ type: 'set-version', handle, version });
    if (effects.deletions.length > 0) this.ctx.send(msg.ref, this.order({ type: 'delete-chunks', handles: effects.deletions }));
  }

  private scan(): void {
    const now = this.ctx.now();
    for (const [h, untilMs] of this.unackedLeases) if (untilMs <= now) this.unackedLeases.delete(h);
    this.reportOrder.forgetDead(now, STAMP_KEPT_SERVER_TIMEOUTS * this.config.serverTimeoutMs);
    for (const [id, s] of this.servers) {
      if (s.lastSeenMs + this.config.serverTimeoutMs < now) {
        this.ctx.log.info('chunkserver silent, taken for dead', { server: id });
        // a lease whose primary forwards to the dead server would fail every mutation until it
        // ran out: revoked, the next grant raises the version among the replicas still alive
        for (const h of this.locations.chunksOn(id)) {
          const lease = this.locations.lease(h, now);
          if (lease?.holder === id) this.unackedLeases.set(h, Math.max(lease.expiresAtMs, this.unackedLeases.get(h) ?? 0));
        }
        for (const h of this.locations.removeServer(id)) this.revokeLease(h);
        this.servers.delete(id);
        this.reportOrder.dead(id, now);
      }
    }
    this.createAgain(now);
    this.reclaim(now);
    this.reReplicate(now);
  }

  /** Clones chunks below their replica target, the most endangered first, within the clone limits; else rebalances. */
  private reReplicate(now: number): void {
    this.clones.expire(now, this.config.cloneTimeoutMs, (id) => this.servers.has(id));
    const plan = planReplication({
      nowMs: now,
      chunks: this.metadata.chunks(),
      servers: [...this.servers.values()],
      versionOf: (h) => this.versionOf(h),
      liveReplicas: (h, v) => this.locations.liveReplicas(h, v),
      chunksOn: (id) => this.locations.chunksOn(id),
      cloning: (h) => this.clones.has(h),
      granting: (h) => this.grants.has(h),
      lostRaise: (h, v) => this.lostRaiseTargets(h, v),
      creatingOn: (h) => this.creating.on(h),
      reportedAll: now >= this.reportedAllByMs,
      liveFileChunks: () => this.metadata.liveFileChunks(),
      quiet: (h) => !this.locations.lease(h, now) && !this.mayHaveForgottenLease(h, now) && !((this.unackedLeases.get(h) ?? 0) > now),
      leaseHolder: (h) => this.locations.lease(h, now)?.holder,
      inFlight: this.clones.inFlight(),
      limits: this.config,
    });
    this.carryOut(plan, now);
  }

  private carryOut(plan: ReplicationPlan, now: number): void {
    for (const { handle, version, servers } of plan.raiseAgain) {
      this.mutate({ type: 'set-version', handle, version, raisedOn: servers });
      this.startGrant(handle, version, servers, undefined, { type: 'raise-version', handle, version });
    }
    for (const handle of plan.createAgain) this.orderCreation(handle, placeNewChunk([...this.servers.values()], this.config.replicas, this.recent, now), now);
    for (const { handle, server } of plan.dropExtra) {
      this.locations.removeReplica(server, handle);
      this.ctx.send(this.servers.get(server)!.ref, this.order({ type: 'delete-chunks', handles: [handle] }));
    }
    this.quiescing = plan.quiescing;
    for (const t of plan.clones) {
      this.clones.started(t.handle, { source: t.source, target: t.target, startedMs: now });
      this.ctx.send(this.servers.get(t.target)!.ref, this.order({ type: 'clone', handle: t.handle, version: this.versionOf(t.handle)!, source: this.servers.get(t.source)!.ref }));
    }
  }

  private reclaim(now: number): void {
    for (const hiddenPath of this.metadata.dueForReclaim(now, this.config.gcDelayMs, RECLAIM_PER_SCAN)) {
      // a file under a snapshot in progress waits for the next scan
      if (!this.ops.free({ write: [hiddenPath] })) continue;
      const chunks = this.metadata.chunksUnder(hiddenPath);
      this.mutate({ type: 'reclaim', hiddenPath });
      // replicas of forgotten chunks are orphans now: the next heartbeats have them deleted
      for (const h of chunks) {
        if (this.metadata.chunk(h)) continue;
        this.locations.forgetChunk(h);
        this.grants.forget(h);
        this.creating.forget(h);
      }
    }
  }
}
