import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import { validatePath } from '../namespace/path.ts';
import type { ChunkLease, ChunkserverMsg, MasterMsg, MasterStatus } from '../protocol.ts';
import { refusingBadInput } from '../refuse.ts';
import { ChunkLocations, type Lease, type ServerId } from './chunk-locations.ts';
import { MetadataError } from './metadata.ts';
import { OpLog } from './op-log.ts';
import { placeNewChunk, planClones, planRebalance, RecentCreations, type ClonesInFlight, type ServerInfo, type UnderReplicated } from './placement.ts';
import type { MetadataRecord } from './records.ts';

export interface MasterProps {
  config?: Partial<GfsConfig>;
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

/**
 * The GFS master (a first skeleton): the namespace and file -> chunk metadata, changed only
 * through op-log records that are acknowledged once synced (replyWhenDurable) and recovered
 * from the newest checkpoint plus the log after it; chunk locations learned from chunkserver
 * heartbeats (stale and orphaned replicas are told to go); new chunks placed by the placement
 * policy. Not yet here: leases, re-replication, rebalancing, namespace locks across turns.
 */
export const Master = defineActor('gfs.master', (props: MasterProps, ctx: ActorContext<MasterMsg>) => {
  const config = gfsConfig(props.config);
  const { log, metadata } = OpLog.recover(ctx.storage);
  const locations = new ChunkLocations();
  const servers = new Map<ServerId, ServerState>();
  const recent = new RecentCreations(config);
  const grants = new Map<number, PendingGrant>();
  /** Clones in flight, by chunk (one at a time per chunk), with their target and start time. */
  const clones = new Map<number, { source: ServerId; target: ServerId; startedMs: number }>();
  ctx.setTimer('scan', config.scanIntervalMs, { type: 'scan' }, { repeat: true });

  const pathOf = (p: unknown): string => validatePath(p, config).path;
  const mutate = (record: MetadataRecord): void => {
    metadata.apply(record); // a record that does not fit throws here and changes nothing
    log.append(record);
    if (log.recordsSinceCheckpoint >= config.checkpointEveryRecords) log.checkpoint(metadata, config.checkpointPieceRows);
  };
  const versionOf = (h: number): number | undefined => metadata.chunk(h)?.version;

  const receive = (msg: MasterMsg): void => {
    switch (msg.type) {
      case 'mkdir':
      case 'create':
        mutate({ type: msg.type, path: pathOf(msg.path) });
        return ctx.replyWhenDurable(true);
      case 'delete':
        mutate({ type: 'delete', path: pathOf(msg.path), atMs: metadata.deletionTime(ctx.now()) });
        return ctx.replyWhenDurable(true);
      case 'undelete': {
        const hidden = metadata.deletedVersionsOf(pathOf(msg.path)).pop();
        if (!hidden) throw new MetadataError('not-found', `no deleted file ${msg.path} to undelete`);
        mutate({ type: 'undelete', hiddenPath: hidden });
        return ctx.replyWhenDurable(true);
      }
      case 'rename':
        mutate({ type: 'rename', from: pathOf(msg.from), to: pathOf(msg.to) });
        return ctx.replyWhenDurable(true);
      case 'snapshot': {
        const source = pathOf(msg.source);
        // a primary must ask for a new lease after this, and so finds its chunk shared
        for (const h of metadata.chunksUnder(source)) locations.revokeLease(h);
        mutate({ type: 'snapshot', source, target: pathOf(msg.target) });
        return ctx.replyWhenDurable(true);
      }
      case 'list':
        return ctx.reply(metadata.list(pathOf(msg.path)).map(({ name, entry }) => ({ name, kind: entry.kind })));
      case 'stat': {
        const entry = metadata.get(pathOf(msg.path));
        if (!entry) throw new MetadataError('not-found', `${msg.path} does not exist`);
        return ctx.reply(entry.kind === 'dir' ? { kind: 'dir' } : { kind: 'file', chunks: entry.chunks.length });
      }
      case 'add-chunk':
        return addChunk(pathOf(msg.path));
      case 'locate': {
        const handle = chunkAt(pathOf(msg.path), msg.index);
        const version = versionOf(handle)!;
        return ctx.reply({ handle, version, replicas: locations.liveReplicas(handle, version) });
      }
      case 'lease': {
        const path = pathOf(msg.path);
        const handle = chunkAt(path, msg.index);
        const waiter = ctx.replyHandle();
        if (!waiter) return;
        return metadata.chunk(handle)!.refs > 1 ? copyOnWrite(path, msg.index, handle, waiter) : requestLease(handle, waiter);
      }
      case 'version-raised': {
        const g = grants.get(msg.handle);
        if (!g || msg.version !== g.version || !g.awaiting.delete(msg.server)) return;
        // (a server taken for dead meanwhile is known again only through its next heartbeat)
        if (servers.has(msg.server)) {
          g.raised.push(msg.server);
          locations.addReplica(msg.server, msg.handle, msg.version);
        }
        if (g.awaiting.size === 0) finishGrant(msg.handle);
        return;
      }
      case 'grant-timeout':
        return grantTimedOut(msg.handle);
      case 'clone-done': {
        const c = clones.get(msg.handle);
        if (c?.target !== msg.server) return;
        clones.delete(msg.handle);
        if (msg.error !== undefined) ctx.log.warn('clone failed', { handle: msg.handle, target: msg.server, error: msg.error });
        else if (versionOf(msg.handle) === msg.version && servers.has(msg.server)) locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      }
      case 'heartbeat':
        return heartbeat(msg);
      case 'chunk-created':
        if (servers.has(msg.server) && versionOf(msg.handle) === msg.version) locations.addReplica(msg.server, msg.handle, msg.version);
        return;
      case 'bad-replica': {
        ctx.log.warn('bad replica', { server: msg.server, handle: msg.handle, reason: msg.reason });
        locations.removeReplica(msg.server, msg.handle);
        const s = servers.get(msg.server);
        if (s) ctx.send(s.ref, { type: 'delete-chunks', handles: [msg.handle] });
        return;
      }
      case 'status':
        return ctx.reply(status());
      case 'checkpoint':
        return ctx.replyWhenDurable(log.checkpoint(metadata, config.checkpointPieceRows));
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
        .map(({ id, rack, usedBytes, capacityBytes }) => ({ id, rack, usedBytes, capacityBytes, chunks: locations.chunksOn(id).length }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
      recordsSinceCheckpoint: log.recordsSinceCheckpoint,
      logPosition: log.position,
      files: metadata.fileCount(),
      chunks,
      underReplicated,
      clonesInFlight: [...clones].map(([handle, c]) => ({ handle, source: c.source, target: c.target })),
    };
  }

  function fileChunks(path: string): number[] {
    const entry = metadata.get(path);
    if (!entry) throw new MetadataError('not-found', `${path} does not exist`);
    if (entry.kind !== 'file') throw new MetadataError('not-a-file', `${path} is a directory`);
    return entry.chunks;
  }

  function chunkAt(path: string, index: number): number {
    const handle = fileChunks(path)[index];
    if (handle === undefined) throw new MetadataError('not-found', `${path} has no chunk ${String(index)}`);
    return handle;
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
    if (lease) return ctx.replyTo(waiter, leaseAnswer(handle, version, lease));
    const pending = grants.get(handle);
    if (pending) {
      if (pending.waiters.length >= config.maxLeaseWaiters) throw new Error(`chunk ${handle}: ${config.maxLeaseWaiters} clients already wait for its lease`);
      pending.waiters.push(waiter);
      return;
    }
    const live = locations.liveReplicas(handle, version);
    if (live.length === 0) throw new Error(`chunk ${handle}: no live replica to grant a lease to`);
    const next = version + 1;
    mutate({ type: 'set-version', handle, version: next });
    startGrant(handle, next, live, waiter, { type: 'raise-version', handle, version: next });
  }

  /** Sends `order` to the live replicas once the log is durable, and waits for their version-raised. */
  function startGrant(handle: number, version: number, live: ServerId[], waiter: ReplyHandle, order: ChunkserverMsg): void {
    grants.set(handle, { version, awaiting: new Set(live), raised: [], waiters: [waiter], order });
    for (const id of live) ctx.sendWhenDurable(servers.get(id)!.ref, order);
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
    if (g.awaiting.size === 0) {
      grants.delete(handle);
      ctx.log.error('chunk lost: no live replica took its new version', { handle, version: g.version });
      return;
    }
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
    for (const w of g.waiters) ctx.replyTo(w, leaseAnswer(handle, g.version, lease));
  }

  function addChunk(path: string): void {
    fileChunks(path);
    const now = ctx.now();
    const replicas = placeNewChunk([...servers.values()], config.replicas, recent, now);
    if (replicas.length === 0) throw new Error('no chunkserver can take a new chunk');
    const handle = metadata.newHandle();
    mutate({ type: 'add-chunk', path, handle });
    for (const id of replicas) {
      recent.record(id, now);
      // the chunk exists on a server only once the master's record of it is durable: never an orphan by a race
      ctx.sendWhenDurable(servers.get(id)!.ref, { type: 'create-chunk', handle, version: 1 });
    }
    ctx.replyWhenDurable({ handle, replicas });
  }

  function heartbeat(msg: Extract<MasterMsg, { type: 'heartbeat' }>): void {
    const problem = heartbeatProblem(msg);
    if (problem) throw new Error(`malformed heartbeat: ${problem}`);
    servers.set(msg.server, { id: msg.server, rack: msg.rack, usedBytes: msg.usedBytes, capacityBytes: msg.capacityBytes, ref: msg.ref, lastSeenMs: ctx.now() });
    const verdict = locations.applyReport(msg.server, msg.chunks, versionOf);
    // a replica ahead of the master's version means the master failed while granting a lease: adopt it
    // (replicas still recorded at the old version are not handed out from now on; each one's own
    // next report shows whether it is stale, so none is deleted on an outdated view)
    for (const { handle, version } of verdict.ahead) if (version > versionOf(handle)!) mutate({ type: 'set-version', handle, version });
    // a replica a version raise still waits for is not stale but late, and one being cloned (at
    // version 0 until complete) is not stale but unfinished; a clone that times out is collected
    const busy = (h: number): boolean => grants.get(h)?.awaiting.has(msg.server) === true || clones.get(h)?.target === msg.server;
    // and the last copies of a chunk are never deleted: with no replica at the current version
    // (the master restarted after logging a raise no replica got), the older ones are all there is
    const lastCopies = (h: number): boolean => locations.liveReplicas(h, versionOf(h)!).length === 0;
    const doomed = [...verdict.orphaned, ...verdict.stale.filter((h) => !busy(h) && !lastCopies(h))];
    if (doomed.length > 0) ctx.send(msg.ref, { type: 'delete-chunks', handles: doomed });
  }

  function scan(): void {
    const now = ctx.now();
    for (const [id, s] of servers) {
      if (s.lastSeenMs + config.serverTimeoutMs < now) {
        ctx.log.info('chunkserver silent, taken for dead', { server: id });
        locations.removeServer(id);
        servers.delete(id);
      }
    }
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
    ctx.send(servers.get(extra)!.ref, { type: 'delete-chunks', handles: [handle] });
  }

  /** Clones chunks below their replica target, the most endangered first, within the clone limits; else rebalances. */
  function reReplicate(now: number): void {
    for (const [h, c] of clones) if (c.startedMs + config.cloneTimeoutMs < now) clones.delete(h);
    const inFlight: ClonesInFlight = { total: clones.size, perServer: new Map() };
    for (const c of clones.values()) for (const id of [c.source, c.target]) inFlight.perServer.set(id, (inFlight.perServer.get(id) ?? 0) + 1);
    const under: UnderReplicated[] = [];
    let liveChunks: Set<number> | undefined; // worked out only when some chunk is endangered
    for (const [handle, meta] of metadata.chunks()) {
      if (clones.has(handle)) continue;
      const replicas = locations.liveReplicas(handle, meta.version);
      if (replicas.length < config.replicas) {
        liveChunks ??= metadata.liveFileChunks();
        under.push({ handle, replicas, target: config.replicas, deleted: !liveChunks.has(handle), blockingClient: false });
      }
      else if (replicas.length > config.replicas && !grants.has(handle)) dropExtraReplica(handle, replicas, now);
    }
    // one clone per chunk per scan: the next scan plans the next one with the new replica counted.
    // Rebalancing only when nothing is endangered: a move is a clone to an emptier server, after
    // which the chunk is one above its target and dropExtraReplica takes it off the fullest one.
    const live = [...servers.values()];
    const tasks =
      under.length > 0
        ? planClones(under, live, inFlight, config)
        : planRebalance(live, (id) => locations.chunksOn(id).filter((h) => !clones.has(h) && !grants.has(h)), (h) => locations.liveReplicas(h, versionOf(h) ?? -1), inFlight, config);
    const planned = new Set<number>();
    for (const t of tasks) {
      if (planned.has(t.handle)) continue;
      planned.add(t.handle);
      clones.set(t.handle, { source: t.source, target: t.target, startedMs: now });
      ctx.send(servers.get(t.target)!.ref, { type: 'clone', handle: t.handle, version: versionOf(t.handle)!, source: servers.get(t.source)!.ref });
    }
  }

  function reclaim(now: number): void {
    for (const hiddenPath of metadata.dueForReclaim(now, config.gcDelayMs, RECLAIM_PER_SCAN)) {
      const chunks = metadata.chunksUnder(hiddenPath);
      mutate({ type: 'reclaim', hiddenPath });
      // replicas of forgotten chunks are orphans now: the next heartbeats have them deleted
      for (const h of chunks) if (!metadata.chunk(h)) locations.forgetChunk(h);
    }
  }

  return refusingBadInput(ctx, receive);
});

function heartbeatProblem(msg: Extract<MasterMsg, { type: 'heartbeat' }>): string | undefined {
  if (typeof msg.server !== 'string' || typeof msg.rack !== 'string') return 'server and rack must be strings';
  if (!(msg.usedBytes >= 0 && msg.capacityBytes >= 0)) return 'usedBytes and capacityBytes must be numbers >= 0';
  if (!Array.isArray(msg.chunks)) return 'chunks must be a list';
  const bad = msg.chunks.find((c: unknown) => {
    const r = c as { handle?: unknown; version?: unknown } | null;
    return !Number.isSafeInteger(r?.handle) || !Number.isSafeInteger(r?.version);
  });
  return bad === undefined ? undefined : `bad chunk report ${JSON.stringify(bad)}`;
}
