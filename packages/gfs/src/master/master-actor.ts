import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import { validatePath } from '../namespace/path.ts';
import type { MasterHaProps } from '../ha/ha-config.ts';
import { isHaMsg, NotMasterError, type MetadataRead, type MetadataReadResults } from '../ha/ha-protocol.ts';
import { MasterReplicaRole } from '../ha/replica.ts';
import type { ChunkLease, ChunkserverMsg, MasterMsg, MasterStatus } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChunkLocations, type Lease, type ServerId } from './chunk-locations.ts';
import { MetadataError } from './metadata.ts';
import { OpLog, type PendingCheckpoint } from './op-log.ts';
import { LockManager, locksFor, type OpId } from '../namespace/locks.ts';
import { PendingCreations } from './pending-creations.ts';
import { placeNewChunk, planClones, planRebalance, planSpread, RecentCreations, type ClonesInFlight, type ServerInfo, type UnderReplicated } from './placement.ts';
import type { MetadataRecord } from './records.ts';

export interface MasterProps {
  config?: Partial<GfsConfig>;
  /** A replica of a highly available master, elected through the lock service (see ha/). Without it, this is the only master. */
  ha?: MasterHaProps;
}

interface ServerState extends ServerInfo {
  ref: ActorRef<ChunkserverMsg>;
  lastSeenMs: number;
}

/** A lease grant waiting for the replicas to persist the raised version. */
interface PendingGrant {
  version: number;
  awaiting: Set<ServerId>;
  raised: ServerId[];
  waiters: ReplyHandle[];
  /** What the replicas are told (raise-version or copy-chunk); sent again while none has answered. */
  order: ChunkserverMsg;
}

/** Hidden files reclaimed per scan at most (the rest wait for the next scan). */
const RECLAIM_PER_SCAN = 1000;
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
  handles: number[];
  /** Chunk -> the primary whose acknowledgement (or lease expiry) the snapshot waits for. */
  awaiting: Map<number, ServerId>;
}

/**
 * The GFS master: the namespace and file -> chunk metadata, changed only through op-log records
 * that are acknowledged once synced and recovered from the newest checkpoint plus the log after
 * it (checkpoints are written a few pieces per turn beside the mutations); chunk locations
 * learned from chunkserver heartbeats (stale and orphaned replicas are told to go); leases with
 * version raises, extended on request; snapshots that first revoke the leases of their chunks;
 * per-path namespace locks; placement, re-replication, rebalancing and garbage collection.
 */
export const Master = defineActor('gfs.master', (props: MasterProps, ctx: ActorContext<MasterMsg>) => {
  const config = gfsConfig(props.config);
  let { log, metadata } = OpLog.recover(ctx.storage);
  const locations = new ChunkLocations();
  const servers = new Map<ServerId, ServerState>();
  const recent = new RecentCreations(config);
  const grants = new Map<number, PendingGrant>();
  /**
   * New chunks some server has not reported yet. A lease asked for meanwhile raises their version
   * there too: granted among the acknowledged ones only, the others would be stale at once and the
   * first writes would reach fewer replicas than placed (or none). An order unanswered for two
   * heartbeats is sent again (it may be lost).
   */
  const creating = new PendingCreations();
  /** Per chunk, the servers its last grant's raise went to that never answered (the primary forwards to them too). */
  const grantedTo = new Map<number, { version: number; servers: ServerId[] }>();
  /** Clones in flight, by chunk (one at a time per chunk), with their target and start time. */
  const clones = new Map<number, { source: ServerId; target: ServerId; startedMs: number }>();
  /**
   * Chunks a clone is planned for while a lease on them runs. A clone copies a replica while no
   * mutation can reach it (else the copy would miss one acknowledged meanwhile), so their leases
   * are not extended, and none is granted until the clone is done. Planned again at every scan.
   */
  let quiescing = new Set<number>();
  /**
   * Leases live only in memory: one granted before this (re)start may still run at its primary,
   * unknown here, for up to leaseMs. Until then a chunk that existed at the start is taken as
   * leased (no clone copies it and no snapshot shares it while a mutation may still reach it).
   * A replica taking office as master (high availability) starts this window again.
   */
  let handlesAtStart = metadata.newHandle();
  let leasesForgottenUntilMs = ctx.now() + config.leaseMs;
  /** From then on every live chunkserver has reported since this (re)start: a chunk none reported is held by none alive. */
  let reportedAllByMs = ctx.now() + config.serverTimeoutMs;
  const mayHaveForgottenLease = (h: number, now: number): boolean => h < handlesAtStart && now < leasesForgottenUntilMs;
  let locks = new LockManager(config.maxLockWaiters);
  let nextOp: OpId = 1;
  /** Operations waiting for their locks (bounded by the lock manager's maxLockWaiters). */
  const waiting = new Map<OpId, (answer: Answer) => void | 'held'>();
  const waitingAnswers = new Map<OpId, Answer>();
  /** Operations that keep their locks past their turn: snapshots waiting for revocations. */
  const snapshots = new Map<OpId, PendingSnapshot>();
  /** Chunks some snapshot is revoking: their leases are neither extended nor granted meanwhile. */
  const revoking = new Map<number, number>();
  const durableReplies = new Map<number, { handle: ReplyHandle; value: unknown }>();
  let nextDurableReply = 1;
  let checkpointing: { pending: PendingCheckpoint; waiters: ReplyHandle[]; again: ReplyHandle[] } | undefined;
  ctx.setTimer('scan', config.scanIntervalMs, { type: 'scan' }, { repeat: true });

  const pathOf = (p: unknown): string => validatePath(p, config).path;
  const mutate = (record: MetadataRecord): void => {
    metadata.apply(record); // a record that does not fit throws here and changes nothing
    log.append(record);
    ha?.appended(record);
    if (log.recordsSinceCheckpoint >= config.checkpointEveryRecords && !checkpointing) startCheckpoint([]);
  };
  const versionOf = (h: number): number | undefined => metadata.chunk(h)?.version;

  /** The answer of the message being handled, in its own turn. */
  const inTurn: Answer = {
    get handle() {
      return ctx.replyHandle();
    },
    reply: (v) => ctx.reply(v),
    replyDurable: (v) => (ha ? ha.replyLogged(v) : ctx.replyWhenDurable(v)),
    fail: (err) => {
      throw err;
    },
  };
  /** The answer of an operation that outlives its turn. */
  const later = (handle: ReplyHandle | undefined): Answer => ({
    handle,
    reply: (v) => handle && ctx.replyTo(handle, v),
    replyDurable: (v) => {
      if (!handle) return;
      if (ha) return ha.replyLoggedTo(handle, v);
      const id = nextDurableReply++;
      durableReplies.set(id, { handle, value: v });
      ctx.sendWhenDurable(ctx.self, { type: 'durable-reply', id });
    },
    fail: (err) => handle && ctx.replyErrorTo(handle, err instanceof Error ? err : String(err)),
  });

  /**
   * Runs `run` under the namespace locks of `paths` (read locks on ancestors, a read or write lock
   * on each leaf): at once when they are free, else when the operation holding them (a snapshot
   * waiting for revocations) lets them go. An operation that returns 'held' keeps its locks past
   * its turn and releases them itself.
   */
  function locked(paths: { read?: string[]; write?: string[] }, run: (answer: Answer, op: OpId) => void | 'held'): void {
    const op = nextOp++;
    if (!locks.acquire(op, locksFor(paths))) {
      waiting.set(op, (answer) => run(answer, op));
      waitingAnswers.set(op, later(ctx.replyHandle()));
      return;
    }
    let kept = false;
    try {
      kept = run(inTurn, op) === 'held';
    } finally {
      if (!kept) release(op);
    }
  }

  /** Releases an operation's locks and runs those the release lets through, in grant order. */
  function release(op: OpId): void {
    for (const next of locks.release(op)) {
      const run = waiting.get(next)!;
      const answer = waitingAnswers.get(next)!;
      waiting.delete(next);
      waitingAnswers.delete(next);
      let kept = false;
      try {
        kept = run(answer) === 'held';
      } catch (err) {
        answer.fail(err);
      } finally {
        if (!kept) release(next);
      }
    }
  }

  function read<K extends MetadataRead['type']>(r: MetadataRead & { type: K }): MetadataReadResults[K];
  function read(r: MetadataRead): MetadataReadResults[MetadataRead['type']] {
    switch (r.type) {
      case 'list':
        return metadata.list(pathOf(r.path)).map(({ name, entry }) => ({ name, kind: entry.kind }));
      case 'stat': {
        const entry = metadata.get(pathOf(r.path));
        if (!entry) throw new MetadataError('not-found', `${r.path} does not exist`);
        return entry.kind === 'dir' ? { kind: 'dir' } : { kind: 'file', chunks: entry.chunks.length };
      }
      case 'locate': {
        const handle = chunkAt(pathOf(r.path), r.index);
        const version = versionOf(handle)!;
        return { handle, version, replicas: locations.liveReplicas(handle, version) };
      }
      default: {
        const never: never = r;
        throw new Error(`unknown read ${JSON.stringify(never)}`);
      }
    }
  }

  /** Out of office: every operation in flight fails (the client asks the new master), and nothing of this term goes on. */
  function leaveOffice(reason: string): void {
    const err = new NotMasterError(`the master stepped down (${reason}); ask the new master`);
    for (const g of grants.values()) for (const w of g.waiters) ctx.replyErrorTo(w, err);
    for (const h of grants.keys()) ctx.cancelTimer(`grant:${h}`);
    for (const op of snapshots.keys()) ctx.cancelTimer(`snapshot:${op}`);
    for (const s of snapshots.values()) s.answer.fail(err);
    for (const a of waitingAnswers.values()) a.fail(err);
    grants.clear();
    grantedTo.clear();
    creating.clear();
    clones.clear();
    quiescing = new Set();
    snapshots.clear();
    revoking.clear();
    waiting.clear();
    waitingAnswers.clear();
    locks = new LockManager(config.maxLockWaiters);
  }

  const ha = props.ha
    ? new MasterReplicaRole(ctx, props.ha, {
        log: () => log,
        metadata: () => metadata,
        replace: (state) => {
          ({ log, metadata } = state);
          handlesAtStart = metadata.newHandle();
          leasesForgottenUntilMs = ctx.now() + config.leaseMs;
          reportedAllByMs = ctx.now() + config.serverTimeoutMs;
          for (const w of [...(checkpointing?.waiters ?? []), ...(checkpointing?.again ?? [])]) ctx.replyErrorTo(w, 'the log was replaced by the master\'s checkpoint');
          checkpointing = undefined;
        },
        mutate,
        read,
        leaveOffice,
        leaseMs: config.leaseMs,
        checkpointRows: config.checkpointPieceRows,
      })
    : undefined;
  /** An order to a chunkserver, carrying this master's sequencer when it has one. */
  const order = <T extends ChunkserverMsg>(msg: T): T => (ha ? ha.fenced(msg) : msg);

  const receive = (msg: MasterMsg): void => {
    if (isHaMsg(msg)) {
      if (!ha) throw new Error(`${msg.type}: this master runs without high availability`);
      return ha.receive(msg);
    }
    if (ha?.intercept(msg)) return;
    switch (msg.type) {
      case 'mkdir':
      case 'create': {
        const path = pathOf(msg.path);
        return locked({ write: [path] }, (a) => {
          mutate({ type: msg.type, path });
          a.replyDurable(true);
        });
      }
      case 'delete': {
        const path = pathOf(msg.path);
        return locked({ write: [path] }, (a) => {
          mutate({ type: 'delete', path, atMs: metadata.deletionTime(ctx.now()) });
          a.replyDurable(true);
        });
      }
      case 'undelete': {
        const path = pathOf(msg.path);
        return locked({ write: [path] }, (a) => {
          const hidden = metadata.deletedVersionsOf(path).pop();
          if (!hidden) throw new MetadataError('not-found', `no deleted file ${path} to undelete`);
          mutate({ type: 'undelete', hiddenPath: hidden });
          a.replyDurable(true);
        });
      }
      case 'rename': {
        const [from, to] = [pathOf(msg.from), pathOf(msg.to)];
        return locked({ write: [from, to] }, (a) => {
          mutate({ type: 'rename', from, to });
          a.replyDurable(true);
        });
      }
      case 'snapshot': {
        const [source, target] = [pathOf(msg.source), pathOf(msg.target)];
        return locked({ write: [source, target] }, (a, op) => startSnapshot(op, source, target, a));
      }
      case 'list': {
        const path = pathOf(msg.path);
        return locked({ read: [path] }, (a) => a.reply(read({ type: 'list', path })));
      }
      case 'stat': {
        const path = pathOf(msg.path);
        return locked({ read: [path] }, (a) => a.reply(read({ type: 'stat', path })));
      }
      case 'add-chunk': {
        const path = pathOf(msg.path);
        return locked({ write: [path] }, (a) => addChunk(path, msg.index, a));
      }
      case 'locate': {
        const path = pathOf(msg.path);
        return locked({ read: [path] }, (a) => a.reply(read({ type: 'locate', path, index: msg.index })));
      }
      case 'lease': {
        const path = pathOf(msg.path);
        // a write lock: the first lease after a snapshot gives the file a chunk of its own
        return locked({ write: [path] }, (a) => {
          const handle = chunkAt(path, msg.index);
          const waiter = a.handle;
          if (!waiter) return;
          if (revoking.has(handle)) throw new Error(`chunk ${handle} is being snapshotted; ask again`);
          return metadata.chunk(handle)!.refs > 1 ? copyOnWrite(path, msg.index, handle, waiter) : requestLease(handle, waiter);
        });
      }
      case 'extend-lease': {
        knownServer(msg.server);
        let expiresAtMs: number;
        try {
          expiresAtMs = extendLease(msg.server, msg.handle, msg.version ?? versionOf(msg.handle) ?? -1);
        } catch (err) {
          if (ctx.replyHandle()) throw err;
          return; // a tell: the primary's lease runs out and it asks for a new one
        }
        return ctx.reply({ expiresAtMs });
      }
      case 'lease-revoked':
        return leaseRevoked(msg.server, msg.handle);
      case 'revoke-timeout':
        return finishSnapshot(msg.op);
      case 'durable-reply': {
        const r = durableReplies.get(msg.id);
        durableReplies.delete(msg.id);
        if (r) ctx.replyTo(r.handle, r.value);
        return;
      }
      case 'version-raised': {
        const g = grants.get(msg.handle);
        const expected = g !== undefined && msg.version === g.version && g.awaiting.delete(msg.server);
        // (a server taken for dead meanwhile is known again only through its next heartbeat)
        knownServer(msg.server);
        if (!g || !expected) return;
        g.raised.push(msg.server);
        locations.addReplica(msg.server, msg.handle, msg.version);
        if (g.awaiting.size === 0) finishGrant(msg.handle);
        return;
      }
      case 'grant-timeout':
        return grantTimedOut(msg.handle);
      case 'clone-done': {
        const c = clones.get(msg.handle);
        if (c?.target !== msg.server) return;
        clones.delete(msg.handle);
        knownServer(msg.server);
        if (msg.error !== undefined) ctx.log.warn('clone failed', { handle: msg.handle, target: msg.server, error: msg.error });
        else if (versionOf(msg.handle) === msg.version) locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      }
      case 'heartbeat':
        return heartbeat(msg);
      case 'chunk-created':
        knownServer(msg.server);
        creating.reported(msg.server, msg.handle);
        if (versionOf(msg.handle) === msg.version) locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      case 'bad-replica': {
        const s = knownServer(msg.server);
        ctx.log.warn('bad replica', { server: msg.server, handle: msg.handle, reason: msg.reason });
        locations.removeReplica(msg.server, msg.handle);
        ctx.send(s.ref, order({ type: 'delete-chunks', handles: [msg.handle] }));
        return;
      }
      case 'status':
        return ctx.reply(status());
      case 'checkpoint': {
        const waiter = ctx.replyHandle();
        if (checkpointing) {
          if (checkpointing.waiters.length + checkpointing.again.length >= MAX_CHECKPOINT_WAITERS) throw new Error(`${MAX_CHECKPOINT_WAITERS} checkpoint requests already wait`);
          // the running one may not cover this request's records: another starts when it ends
          if (waiter) checkpointing.again.push(waiter);
          return;
        }
        return startCheckpoint(waiter ? [waiter] : []);
      }
      case 'checkpoint-step':
        return checkpointStep();
      case 'scan':
        return scan();
      default: {
        const never: never = msg;
        ctx.unhandled(never);
      }
    }
  };

  function status(): MasterStatus {
    let chunks = 0;
    let underReplicated = 0;
    for (const [handle, meta] of metadata.chunks()) {
      chunks++;
      if (locations.liveReplicas(handle, meta.version).length < config.replicas) underReplicated++;
    }
    return {
      servers: [...servers.values()]
        .map(({ id, rack, usedBytes, capacityBytes, ref }) => ({ id, rack, usedBytes, capacityBytes, ref, chunks: locations.chunksOn(id).length }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      recordsSinceCheckpoint: log.recordsSinceCheckpoint,
      checkpointing: checkpointing !== undefined,
      waitingForLocks: waiting.size,
      logPosition: log.position,
      files: metadata.fileCount(),
      chunks,
      underReplicated,
      clonesInFlight: [...clones].map(([handle, c]) => ({ handle, source: c.source, target: c.target })),
    };
  }

  /**
   * Creations unanswered for two heartbeats are ordered again (a raise since then follows on the
   * same link), also to a server taken for dead meanwhile once it is back: the orders may all have
   * been lost (a partition). Once some server holds the chunk at its version, re-replication
   * restores the rest (a copy made at version 1 after a grant raised the chunk is taken in by the
   * grant, which raises it too).
   */
  function createAgain(now: number): void {
    for (const { handle, servers: ids } of creating.due(now, 2 * config.heartbeatIntervalMs)) {
      const version = versionOf(handle);
      if (version === undefined || locations.liveReplicas(handle, version).length > 0) {
        creating.forget(handle);
        continue;
      }
      for (const id of ids) {
        const s = servers.get(id);
        if (s) ctx.send(s.ref, order({ type: 'create-chunk', handle, version: 1 }));
      }
    }
  }

  function knownServer(id: ServerId): ServerState {
    const s = servers.get(id);
    if (!s) throw new Error(`unknown chunkserver ${JSON.stringify(id)}: not registered by a heartbeat, or taken for dead since; it must send a heartbeat first`);
    return s;
  }

  /** Starts a checkpoint of the metadata as it is now; its pieces are written over the next turns. */
  function startCheckpoint(waiters: ReplyHandle[]): void {
    const pending = log.startCheckpoint(metadata, config.checkpointPieceRows);
    if (!pending) {
      for (const w of waiters) ctx.replyTo(w, 0);
      return;
    }
    checkpointing = { pending, waiters, again: [] };
    ctx.send(ctx.self, { type: 'checkpoint-step' });
  }

  function checkpointStep(): void {
    const c = checkpointing;
    if (!c) return;
    // the next pieces once these are synced: a checkpoint takes a bounded share of each commit
    if (!log.writePieces(c.pending, CHECKPOINT_PIECES_PER_TURN)) return ctx.sendWhenDurable(ctx.self, { type: 'checkpoint-step' });
    checkpointing = undefined;
    for (const w of c.waiters) {
      const id = nextDurableReply++;
      durableReplies.set(id, { handle: w, value: c.pending.pieces.length });
      ctx.sendWhenDurable(ctx.self, { type: 'durable-reply', id });
    }
    if (c.again.length > 0) startCheckpoint(c.again);
  }

  /**
   * A snapshot, under write locks on its source and target: the leases of the source's chunks
   * are revoked first (their primaries told, and answered or expired), so no primary orders a
   * write to a chunk after it is shared; then the snapshot is logged and the locks let go.
   */
  function startSnapshot(op: OpId, source: string, target: string, answer: Answer): 'held' | undefined {
    if (!metadata.get(source)) throw new MetadataError('not-found', `${source} does not exist`);
    if (metadata.get(target)) throw new MetadataError('exists', `${target} already exists`);
    const now = ctx.now();
    const handles = [...new Set(metadata.chunksUnder(source))];
    const awaiting = new Map<number, ServerId>();
    let untilMs = now;
    for (const h of handles) {
      revoking.set(h, (revoking.get(h) ?? 0) + 1);
      if (mayHaveForgottenLease(h, now)) untilMs = Math.max(untilMs, leasesForgottenUntilMs);
      const lease = locations.lease(h, now);
      if (!lease) continue;
      awaiting.set(h, lease.holder);
      untilMs = Math.max(untilMs, lease.expiresAtMs);
      const holder = servers.get(lease.holder);
      if (holder) ctx.send(holder.ref, order({ type: 'revoke-lease', handle: h }));
    }
    // (a lease forgotten in a restart cannot be revoked: the snapshot waits for its end)
    const held = untilMs > now;
    snapshots.set(op, { source, target, answer: held && answer === inTurn ? later(ctx.replyHandle()) : answer, handles, awaiting });
    if (!held) {
      finishSnapshot(op, false);
      return undefined;
    }
    // an unanswered revocation ends with the lease itself
    ctx.setTimer(`snapshot:${op}`, untilMs - now, { type: 'revoke-timeout', op });
    return 'held';
  }

  function leaseRevoked(server: ServerId, handle: number): void {
    for (const [op, s] of snapshots) {
      if (s.awaiting.get(handle) !== server) continue;
      s.awaiting.delete(handle);
      if (s.awaiting.size === 0 && !s.handles.some((h) => mayHaveForgottenLease(h, ctx.now()))) finishSnapshot(op);
    }
  }

  function finishSnapshot(op: OpId, releaseLocks = true): void {
    const s = snapshots.get(op);
    if (!s) return;
    snapshots.delete(op);
    ctx.cancelTimer(`snapshot:${op}`);
    for (const h of s.handles) {
      const n = revoking.get(h)! - 1;
      if (n === 0) revoking.delete(h);
      else revoking.set(h, n);
      // answered or expired: the next write asks for a new lease, and so finds its chunk shared
      locations.revokeLease(h);
    }
    try {
      mutate({ type: 'snapshot', source: s.source, target: s.target });
      s.answer.replyDurable(true);
    } catch (err) {
      s.answer.fail(err);
    } finally {
      if (releaseLocks) release(op);
    }
  }

  /** A running lease of `server` on the chunk gets leaseMs more, and the primary is told; refused while the chunk is being snapshotted. */
  function extendLease(server: ServerId, handle: number, version: number): number {
    const current = versionOf(handle);
    if (current === undefined) throw new Error(`unknown chunk handle ${handle}`);
    if (version !== current) throw new Error(`chunk ${handle}: version ${version} is stale (the master's is ${current})`);
    if (revoking.has(handle)) throw new Error(`chunk ${handle} is being snapshotted: its lease is not extended`);
    if (quiescing.has(handle)) throw new Error(`chunk ${handle} is to be re-replicated: its lease is not extended`);
    if (!locations.extendLease(handle, server, ctx.now(), config.leaseMs)) throw new Error(`chunk ${handle}: ${server} holds no running lease on it`);
    const lease = locations.lease(handle, ctx.now())!;
    tellPrimary(handle, current, lease);
    return lease.expiresAtMs;
  }

  function fileChunks(path: string): number[] {
    const entry = metadata.get(path);
    if (!entry) throw new MetadataError('not-found', `${path} does not exist`);
    if (entry.kind !== 'file') throw new MetadataError('not-a-file', `${path} is a directory`);
    return entry.chunks;
  }

  function chunkAt(path: string, index: number): number {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad chunk index ${JSON.stringify(index)}: an integer >= 0`);
    const handle = fileChunks(path)[index];
    if (handle === undefined) throw new MetadataError('not-found', `${path} has no chunk ${String(index)}`);
    return handle;
  }

  /** The master forgets the lease and tells its holder, which stops ordering mutations of the chunk. */
  function revokeLease(handle: number): void {
    const holder = locations.lease(handle, ctx.now())?.holder;
    if (holder !== undefined) {
      const s = servers.get(holder);
      if (s) ctx.send(s.ref, order({ type: 'revoke-lease', handle }));
    }
    locations.revokeLease(handle);
  }

  /**
   * The primary learns of its lease from the master (told again with every answer naming it, so a
   * lost grant is not fatal), with the replicas it must forward mutations to: the live ones, and
   * at a grant also those the raise went to whose answer is missing (they may hold the new
   * version, and would be read later with mutations missed).
   */
  function tellPrimary(handle: number, version: number, lease: Lease): void {
    const s = servers.get(lease.holder);
    const unanswered = grantedTo.get(handle)?.version === version ? grantedTo.get(handle)!.servers : [];
    const ids = new Set([...locations.liveReplicas(handle, version), ...unanswered]);
    const replicas = [...ids].flatMap((id) => servers.get(id)?.ref ?? []);
    if (s) ctx.send(s.ref, order({ type: 'lease-granted', handle, version, durationMs: lease.expiresAtMs - ctx.now(), replicas }));
  }

  function leaseAnswer(handle: number, version: number, lease: Lease): ChunkLease {
    return { handle, version, replicas: locations.liveReplicas(handle, version), primary: lease.holder, expiresAtMs: lease.expiresAtMs };
  }

  /**
   * Answers with the running lease, or starts a grant: the raised version is logged, and only
   * once it is durable do the live replicas hear of it; the lease goes out when they have all
   * persisted it (or, at the timeout, to those that did). Requests meanwhile wait on that grant.
   */
  function requestLease(handle: number, waiter: ReplyHandle): void {
    const version = versionOf(handle)!;
    const lease = locations.lease(handle, ctx.now());
    if (lease) {
      tellPrimary(handle, version, lease);
      return ctx.replyTo(waiter, leaseAnswer(handle, version, lease));
    }
    if (clones.has(handle) || quiescing.has(handle)) throw new Error(`chunk ${handle} is being re-replicated; ask again`);
    const pending = grants.get(handle);
    if (pending) {
      if (pending.waiters.length >= config.maxLeaseWaiters) throw new Error(`chunk ${handle}: ${config.maxLeaseWaiters} clients already wait for its lease`);
      pending.waiters.push(waiter);
      return;
    }
    const live = locations.liveReplicas(handle, version);
    for (const id of creating.on(handle)) if (servers.has(id) && !live.includes(id)) live.push(id);
    if (live.length === 0) live.push(...lostRaiseTargets(handle, version));
    if (live.length === 0) throw new Error(`chunk ${handle}: no live replica to grant a lease to`);
    const next = version + 1;
    mutate({ type: 'set-version', handle, version: next, raisedOn: live });
    startGrant(handle, next, live, waiter, { type: 'raise-version', handle, version: next });
  }

  /**
   * A raise logged before a restart that reached none of its servers: every one of them is alive
   * and reports an older version, so no replica holds the new one and no lease ran on it. The
   * chunk is raised again from them (a lease then goes out as usual). With one of them silent it
   * may hold the new version and writes made under it: the chunk waits for it.
   */
  function lostRaiseTargets(handle: number, version: number): ServerId[] {
    const raise = metadata.lastRaise(handle);
    if (raise?.version !== version || !raise.servers.every((s) => servers.has(s))) return [];
    ctx.log.warn('a version raise reached no replica before the master restarted; raising again', { handle, version, servers: raise.servers.join(',') });
    return [...raise.servers];
  }

  /** Sends `order` to the live replicas once the log is durable, and waits for their version-raised. */
  function startGrant(handle: number, version: number, live: ServerId[], waiter: ReplyHandle | undefined, raise: ChunkserverMsg): void {
    const fenced = order(raise);
    grants.set(handle, { version, awaiting: new Set(live), raised: [], waiters: waiter ? [waiter] : [], order: fenced });
    for (const id of live) ctx.sendWhenDurable(servers.get(id)!.ref, fenced);
    ctx.setTimer(`grant:${handle}`, config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
  }

  /**
   * With some replica raised, the lease goes out. With none, the round is not given up: the
   * master's version already moved on, so every replica would be stale and the chunk lost. The
   * waiting clients get an error (they ask again) and the order goes again to the replicas still
   * alive, until one answers or none is left.
   */
  function grantTimedOut(handle: number): void {
    const g = grants.get(handle);
    if (!g) return;
    if (g.raised.length > 0) return finishGrant(handle);
    for (const w of g.waiters) ctx.replyErrorTo(w, `chunk ${handle}: no replica answered the version raise yet; ask again`);
    g.waiters = [];
    for (const id of g.awaiting) if (!servers.has(id)) g.awaiting.delete(id);
    // with none left, the grant waits for a replica at the version before the raise to report
    // again (see heartbeat): no lease went out at the new version, so that replica is current
    if (g.awaiting.size === 0) return ctx.log.warn('no live replica took a raised version yet; waiting for one to report', { handle, version: g.version });
    for (const id of g.awaiting) ctx.send(servers.get(id)!.ref, g.order);
    ctx.setTimer(`grant:${handle}`, config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
  }

  /**
   * The first lease asked for a chunk shared since a snapshot: the file gets its own chunk, which
   * every live replica of the shared one copies locally (no data crosses the network), at a
   * raised version; the lease then goes out on the copy as for any grant.
   */
  function copyOnWrite(path: string, index: number, shared: number, waiter: ReplyHandle): void {
    const version = versionOf(shared)!;
    const live = locations.liveReplicas(shared, version);
    if (live.length === 0) throw new Error(`chunk ${shared}: no live replica to copy for ${path}`);
    const handle = metadata.newHandle();
    mutate({ type: 'copy-on-write', path, index, handle });
    mutate({ type: 'set-version', handle, version: version + 1 });
    startGrant(handle, version + 1, live, waiter, { type: 'copy-chunk', from: shared, to: handle, version: version + 1 });
  }

  /** Replicas that did not persist the raised version are stale from now on (their next report has them deleted). */
  function finishGrant(handle: number): void {
    const g = grants.get(handle);
    if (!g) return;
    grants.delete(handle);
    ctx.cancelTimer(`grant:${handle}`);
    if (metadata.chunk(handle)!.refs > 1) {
      // a snapshot came while the grant ran: a lease now would let writes reach the snapshot's copy
      for (const w of g.waiters) ctx.replyErrorTo(w, `chunk ${handle} was shared by a snapshot during the lease grant; ask again`);
      return;
    }
    // (one that raised it may have died since)
    const primary = locations.liveReplicas(handle, g.version).find((s) => g.raised.includes(s));
    if (primary === undefined) {
      for (const w of g.waiters) ctx.replyErrorTo(w, `chunk ${handle}: no live replica took version ${g.version}`);
      return;
    }
    const lease = locations.grantLease(handle, primary, ctx.now(), config.leaseMs);
    grantedTo.set(handle, { version: g.version, servers: [...g.awaiting] });
    tellPrimary(handle, g.version, lease);
    for (const w of g.waiters) ctx.replyTo(w, leaseAnswer(handle, g.version, lease));
  }

  function addChunk(path: string, index: number | undefined, answer: Answer): void {
    const existing = fileChunks(path);
    if (index !== undefined) {
      if (!Number.isSafeInteger(index) || index < 0) throw new Error(`add-chunk: bad index ${String(index)}`);
      const handle = existing[index];
      if (handle !== undefined) return answer.reply({ handle, replicas: locations.liveReplicas(handle, versionOf(handle)!) });
    }
    const now = ctx.now();
    const replicas = placeNewChunk([...servers.values()], config.replicas, recent, now);
    if (replicas.length === 0) throw new Error('no chunkserver can take a new chunk');
    const handle = metadata.newHandle();
    mutate({ type: 'add-chunk', path, handle });
    orderCreation(handle, replicas, now);
    answer.replyDurable({ handle, replicas });
  }

  /** Orders the servers placed for a new (empty, never leased) chunk to create it. */
  function orderCreation(handle: number, replicas: ServerId[], now: number): void {
    creating.ordered(handle, replicas, now);
    for (const id of replicas) {
      recent.record(id, now);
      // the chunk exists on a server only once the master's record of it is durable: never an orphan by a race
      ctx.sendWhenDurable(servers.get(id)!.ref, order({ type: 'create-chunk', handle, version: 1 }));
    }
  }

  function heartbeat(msg: Extract<MasterMsg, { type: 'heartbeat' }>): void {
    const problem = heartbeatProblem(msg);
    if (problem) throw new Error(`malformed heartbeat: ${problem}`);
    servers.set(msg.server, { id: msg.server, rack: msg.rack, usedBytes: msg.usedBytes, capacityBytes: msg.capacityBytes, ref: msg.ref, lastSeenMs: ctx.now() });
    if (ha && !ha.serving) return void locations.applyReport(msg.server, msg.chunks, versionOf); // a backup or shadow only learns where chunks are
    for (const handle of msg.leases ?? []) {
      try {
        extendLease(msg.server, handle, versionOf(handle) ?? -1);
      } catch {
        // not extended: the primary's lease runs out and it asks for a new one
      }
    }
    const verdict = locations.applyReport(msg.server, msg.chunks, versionOf);
    for (const { handle } of msg.chunks) creating.reported(msg.server, handle);
    forgetEndedClones(msg);
    // a grant none of whose replicas answered takes in a replica reporting the version it raised from
    for (const { handle, version } of msg.chunks) {
      const g = grants.get(handle);
      if (!g || g.raised.length > 0 || g.awaiting.has(msg.server) || version !== g.version - 1 || g.order.type !== 'raise-version') continue;
      g.awaiting.add(msg.server);
      ctx.send(msg.ref, g.order);
      ctx.setTimer(`grant:${handle}`, config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
    }
    // a replica ahead of the master's version means the master failed while granting a lease: adopt it
    // (replicas still recorded at the old version are not handed out from now on; each one's own
    // next report shows whether it is stale, so none is deleted on an outdated view)
    for (const { handle, version } of verdict.ahead) if (version > versionOf(handle)!) mutate({ type: 'set-version', handle, version });
    // a replica a version raise still waits for is not stale but late, and one being cloned (at
    // version 0 until complete) is not stale but unfinished; a clone that times out is collected.
    // So is one the last grant went ahead without, reporting the version it raised from: the raise
    // is on its way to it, and the primary forwards mutations to it (deleted, it would leave the
    // chunk fewer replicas, or none if the primary dies next)
    const reported = new Map(msg.chunks.map((c) => [c.handle, c.version]));
    const lateToGrant = (h: number): boolean => {
      const g = grantedTo.get(h);
      return g !== undefined && g.version === versionOf(h) && reported.get(h) === g.version - 1 && g.servers.includes(msg.server);
    };
    const busy = (h: number): boolean => grants.get(h)?.awaiting.has(msg.server) === true || clones.get(h)?.target === msg.server || lateToGrant(h);
    // and the last copies of a chunk are never deleted: with no replica at the current version
    // (the master restarted after logging a raise no replica got), the older ones are all there is
    const lastCopies = (h: number): boolean => locations.liveReplicas(h, versionOf(h)!).length === 0;
    const doomed = [...verdict.orphaned, ...verdict.stale.filter((h) => !busy(h) && !lastCopies(h))];
    if (doomed.length > 0) ctx.send(msg.ref, order({ type: 'delete-chunks', handles: doomed }));
  }

  function scan(): void {
    const now = ctx.now();
    for (const [id, s] of servers) {
      if (s.lastSeenMs + config.serverTimeoutMs < now) {
        ctx.log.info('chunkserver silent, taken for dead', { server: id });
        // a lease whose primary forwards to the dead server would fail every mutation until it
        // ran out: revoked, the next grant raises the version among the replicas still alive
        for (const h of locations.removeServer(id)) revokeLease(h);
        servers.delete(id);
      }
    }
    createAgain(now);
    reclaim(now);
    reReplicate(now);
  }

  /**
   * A chunk above its target (a server came back after its chunks were cloned elsewhere, or a
   * rebalancing clone finished) loses one replica per scan: one on a rack that keeps another
   * replica if there is such, on the fullest server, never the lease holder's.
   */
  function dropExtraReplica(handle: number, replicas: ServerId[], now: number): void {
    const holder = locations.lease(handle, now)?.holder;
    const rackOf = (id: ServerId): string => servers.get(id)!.rack;
    const loneRack = (id: ServerId): number => (replicas.filter((r) => rackOf(r) === rackOf(id)).length > 1 ? 0 : 1);
    const use = (id: ServerId): number => {
      const s = servers.get(id)!;
      return s.capacityBytes > 0 ? s.usedBytes / s.capacityBytes : 1;
    };
    const extra = replicas.filter((id) => id !== holder).sort((a, b) => loneRack(a) - loneRack(b) || use(b) - use(a) || (a < b ? -1 : 1))[0];
    if (extra === undefined) return;
    locations.removeReplica(extra, handle);
    ctx.send(servers.get(extra)!.ref, order({ type: 'delete-chunks', handles: [handle] }));
  }

  /**
   * A clone the target no longer reports copying has ended, though its answer may be lost (or the
   * order never arrived): it stops holding the chunk's writers, and the next scan sees the chunk
   * as the reports show it. A heartbeat sent before the order arrived can say so too early; the
   * cost is a second order, which the target ignores while its copy runs, and versions keep a copy
   * that missed a later mutation stale.
   */
  function forgetEndedClones(msg: Extract<MasterMsg, { type: 'heartbeat' }>): void {
    const copying = new Set(msg.cloning ?? []);
    const now = ctx.now();
    for (const [h, c] of clones) {
      if (c.target === msg.server && !copying.has(h) && now - c.startedMs > config.heartbeatIntervalMs) clones.delete(h);
    }
  }

  /** Clones chunks below their replica target, the most endangered first, within the clone limits; else rebalances. */
  function reReplicate(now: number): void {
    // a clone ends at its timeout, or when its source or target is taken for dead (no answer comes)
    for (const [h, c] of clones) if (c.startedMs + config.cloneTimeoutMs < now || !servers.has(c.source) || !servers.has(c.target)) clones.delete(h);
    const inFlight: ClonesInFlight = { total: clones.size, perServer: new Map() };
    for (const c of clones.values()) for (const id of [c.source, c.target]) inFlight.perServer.set(id, (inFlight.perServer.get(id) ?? 0) + 1);
    const under: UnderReplicated[] = [];
    const atTarget: Array<{ handle: number; replicas: ServerId[] }> = [];
    let liveChunks: Set<number> | undefined; // worked out only when some chunk is endangered
    for (const [handle, meta] of metadata.chunks()) {
      if (clones.has(handle)) continue;
      const replicas = locations.liveReplicas(handle, meta.version);
      if (replicas.length === 0 && !grants.has(handle)) {
        const targets = lostRaiseTargets(handle, meta.version);
        if (targets.length > 0) {
          mutate({ type: 'set-version', handle, version: meta.version + 1, raisedOn: targets });
          startGrant(handle, meta.version + 1, targets, undefined, { type: 'raise-version', handle, version: meta.version + 1 });
          continue;
        }
      }
      // at version 1 no lease ever ran, so the chunk is empty: with no server holding it (its orders
      // lost, and forgotten in a master restart) it is placed again
      if (replicas.length === 0 && meta.version === 1 && now >= reportedAllByMs && creating.on(handle).length === 0) {
        orderCreation(handle, placeNewChunk([...servers.values()], config.replicas, recent, now), now);
        continue;
      }
      if (replicas.length < config.replicas) {
        liveChunks ??= metadata.liveFileChunks();
        under.push({ handle, replicas, target: config.replicas, deleted: !liveChunks.has(handle), blockingClient: false });
      }
      else if (replicas.length > config.replicas && !grants.has(handle)) dropExtraReplica(handle, replicas, now);
      else if (!grants.has(handle)) atTarget.push({ handle, replicas });
    }
    // one clone per chunk per scan: the next scan plans the next one with the new replica counted.
    // Rebalancing only when nothing is endangered: a move is a clone to an emptier server, after
    // which the chunk is one above its target and dropExtraReplica takes it off the fullest one.
    const live = [...servers.values()];
    const spread = under.length > 0 ? [] : planSpread(atTarget, live, inFlight, config);
    const tasks =
      under.length > 0
        ? planClones(under, live, inFlight, config)
        : spread.length > 0
          ? spread
          : planRebalance(live, (id) => locations.chunksOn(id).filter((h) => !clones.has(h) && !grants.has(h)), (h) => locations.liveReplicas(h, versionOf(h) ?? -1), inFlight, config);
    const planned = new Set<number>();
    const quiet = (h: number): boolean => !grants.has(h) && !locations.lease(h, now) && !mayHaveForgottenLease(h, now);
    quiescing = new Set();
    for (const t of tasks) {
      if (planned.has(t.handle)) continue;
      planned.add(t.handle);
      if (!quiet(t.handle)) {
        // an endangered chunk stops its writers for the copy; a rebalancing move waits for a pause
        if (under.length > 0) quiescing.add(t.handle);
        continue;
      }
      clones.set(t.handle, { source: t.source, target: t.target, startedMs: now });
      ctx.send(servers.get(t.target)!.ref, order({ type: 'clone', handle: t.handle, version: versionOf(t.handle)!, source: servers.get(t.source)!.ref }));
    }
  }

  function reclaim(now: number): void {
    for (const hiddenPath of metadata.dueForReclaim(now, config.gcDelayMs, RECLAIM_PER_SCAN)) {
      // a file under a snapshot in progress waits for the next scan
      const op = nextOp++;
      const free = locks.acquire(op, locksFor({ write: [hiddenPath] }));
      release(op);
      if (!free) continue;
      const chunks = metadata.chunksUnder(hiddenPath);
      mutate({ type: 'reclaim', hiddenPath });
      // replicas of forgotten chunks are orphans now: the next heartbeats have them deleted
      for (const h of chunks) {
        if (metadata.chunk(h)) continue;
        locations.forgetChunk(h);
        grantedTo.delete(h);
        creating.forget(h);
      }
    }
  }

  return refusingBadInput(ctx, receive);
});

function heartbeatProblem(msg: Extract<MasterMsg, { type: 'heartbeat' }>): string | undefined {
  if (typeof msg.server !== 'string' || typeof msg.rack !== 'string') return 'server and rack must be strings';
  if (!(msg.usedBytes >= 0 && msg.capacityBytes >= 0)) return 'usedBytes and capacityBytes must be numbers >= 0';
  if (!Array.isArray(msg.chunks)) return 'chunks must be a list';
  if (msg.leases !== undefined && !(Array.isArray(msg.leases) && msg.leases.every((h: unknown) => Number.isSafeInteger(h)))) return 'leases must be a list of chunk handles';
  if (msg.cloning !== undefined && !(Array.isArray(msg.cloning) && msg.cloning.every((h: unknown) => Number.isSafeInteger(h)))) return 'cloning must be a list of chunk handles';
  const bad = msg.chunks.find((c: unknown) => {
    const r = c as { handle?: unknown; version?: unknown } | null;
    return !Number.isSafeInteger(r?.handle) || !Number.isSafeInteger(r?.version);
  });
  return bad === undefined ? undefined : `bad chunk report ${JSON.stringify(bad)}`;
}
