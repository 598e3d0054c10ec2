import type { ServerId } from './chunk-locations.ts';
import { planClones, planRebalance, planSpread, type ClonesInFlight, type CloneTask, type PlacementLimits, type ServerInfo, type UnderReplicated } from './placement.ts';
import type { ChunkHandle } from './records.ts';

/** A clone in flight: one at a time per chunk. */
export interface CloneInFlight {
  source: ServerId;
  target: ServerId;
  startedMs: number;
}

/** Clones the master ordered and has not seen end yet, by chunk. */
export class ClonesInProgress {
  private readonly clones = new Map<ChunkHandle, CloneInFlight>();

  has(handle: ChunkHandle): boolean {
    return this.clones.has(handle);
  }

  get(handle: ChunkHandle): CloneInFlight | undefined {
    return this.clones.get(handle);
  }

  started(handle: ChunkHandle, clone: CloneInFlight): void {
    this.clones.set(handle, clone);
  }

  ended(handle: ChunkHandle): void {
    this.clones.delete(handle);
  }

  clear(): void {
    this.clones.clear();
  }

  list(): Array<{ handle: ChunkHandle } & CloneInFlight> {
    return [...this.clones].map(([handle, c]) => ({ handle, ...c }));
  }

  /** A clone ends at its timeout, or when its source or target is taken for dead (no answer comes). */
  expire(nowMs: number, cloneTimeoutMs: number, isAlive: (id: ServerId) => boolean): void {
    for (const [h, c] of this.clones) if (c.startedMs + cloneTimeoutMs < nowMs || !isAlive(c.source) || !isAlive(c.target)) this.clones.delete(h);
  }

  /**
   * A clone the target no longer reports copying has ended, though its answer may be lost (or the
   * order never arrived): it stops holding the chunk's writers, and the next scan sees the chunk
   * as the reports show it. A heartbeat sent before the order arrived can say so too early; the
   * cost is a second order, which the target ignores while its copy runs, and versions keep a copy
   * that missed a later mutation stale.
   */
  endedAt(target: ServerId, copying: readonly ChunkHandle[], nowMs: number, heartbeatIntervalMs: number): void {
    const still = new Set(copying);
    for (const [h, c] of this.clones) if (c.target === target && !still.has(h) && nowMs - c.startedMs > heartbeatIntervalMs) this.clones.delete(h);
  }

  inFlight(): ClonesInFlight {
    const inFlight: ClonesInFlight = { total: this.clones.size, perServer: new Map() };
    for (const c of this.clones.values()) for (const id of [c.source, c.target]) inFlight.perServer.set(id, (inFlight.perServer.get(id) ?? 0) + 1);
    return inFlight;
  }
}

/** What the re-replication scan sees; queries only. */
export interface ReplicationView {
  nowMs: number;
  chunks: Iterable<readonly [ChunkHandle, { version: number }]>;
  servers: readonly ServerInfo[];
  versionOf(handle: ChunkHandle): number | undefined;
  liveReplicas(handle: ChunkHandle, version: number): ServerId[];
  chunksOn(server: ServerId): readonly ChunkHandle[];
  cloning(handle: ChunkHandle): boolean;
  granting(handle: ChunkHandle): boolean;
  /** A copy of the chunk after a snapshot is being made on some server (see LeaseGrants.copiesFrom). */
  copyInFlight(handle: ChunkHandle): boolean;
  /** The servers to raise a chunk again on whose last raise reached none (see lostRaiseTargets). */
  lostRaise(handle: ChunkHandle, version: number): ServerId[];
  creatingOn(handle: ChunkHandle): readonly ServerId[];
  /** Every live chunkserver has reported since the master's start: a chunk none reported is held by none alive. */
  reportedAll: boolean;
  liveFileChunks(): Set<ChunkHandle>;
  /** No lease runs or may run on the chunk (a clone copies only a chunk no mutation can reach). */
  quiet(handle: ChunkHandle): boolean;
  leaseHolder(handle: ChunkHandle): ServerId | undefined;
  inFlight: ClonesInFlight;
  limits: PlacementLimits & { replicas: number };
}

/** What the scan decided, for the master to carry out in this order. */
export interface ReplicationPlan {
  /**
   * Chunks with no live replica whose last raise reached none of its servers: raised again on them
   * (and a stalled copy of one after a snapshot is made from the raised version instead).
   */
  raiseAgain: Array<{ handle: ChunkHandle; version: number; servers: ServerId[] }>;
  /** Chunks at version 1 (never leased, so empty) that no live server holds: placed and created again. */
  createAgain: ChunkHandle[];
  /** Replicas above a chunk's target to delete, one per chunk per scan. */
  dropExtra: Array<{ handle: ChunkHandle; server: ServerId }>;
  clones: CloneTask[];
  /** Endangered chunks a clone waits for while their lease runs: the lease is neither extended nor granted. */
  quiescing: Set<ChunkHandle>;
}

/**
 * One re-replication scan: chunks below their replica target are cloned, the most endangered
 * first, within the clone limits; only when none is, chunks are spread over more racks, else
 * replicas move toward even disk use (a move is a clone to an emptier server, after which the
 * chunk is one above its target and loses a replica on the fullest one). One clone per chunk per
 * scan: the next scan plans the next one with the new replica counted.
 */
export function planReplication(view: ReplicationView): ReplicationPlan {
  const plan: ReplicationPlan = { raiseAgain: [], createAgain: [], dropExtra: [], clones: [], quiescing: new Set() };
  const under: UnderReplicated[] = [];
  const atTarget: Array<{ handle: ChunkHandle; replicas: ServerId[] }> = [];
  const granting = new Set<ChunkHandle>();
  const busy = (h: ChunkHandle): boolean => view.granting(h) || granting.has(h);
  let liveChunks: Set<ChunkHandle> | undefined; // worked out only when some chunk is endangered
  for (const [handle, { version }] of view.chunks) {
    if (view.cloning(handle)) continue;
    const replicas = view.liveReplicas(handle, version);
    // (not under a copy some server is making: the copy would then be refused, and wait for good)
    const lost = replicas.length === 0 && !busy(handle) && !view.copyInFlight(handle) ? view.lostRaise(handle, version) : [];
    if (lost.length > 0) {
      plan.raiseAgain.push({ handle, version: version + 1, servers: lost });
      granting.add(handle);
    } else if (replicas.length === 0 && version === 1 && view.reportedAll && view.creatingOn(handle).length === 0) {
      plan.createAgain.push(handle);
    } else if (replicas.length < view.limits.replicas) {
      liveChunks ??= view.liveFileChunks();
      under.push({ handle, replicas, target: view.limits.replicas, deleted: !liveChunks.has(handle), blockingClient: false });
    } else if (busy(handle)) {
      continue;
    } else if (replicas.length > view.limits.replicas) {
      const server = extraReplica(replicas, view.leaseHolder(handle), view.servers);
      if (server !== undefined) plan.dropExtra.push({ handle, server });
    } else atTarget.push({ handle, replicas });
  }
  const tasks = cloneTasks(view, under, atTarget, plan.dropExtra, busy);
  const planned = new Set<ChunkHandle>();
  for (const t of tasks) {
    if (planned.has(t.handle)) continue;
    planned.add(t.handle);
    if (view.quiet(t.handle) && !busy(t.handle)) plan.clones.push(t);
    else if (under.length > 0) plan.quiescing.add(t.handle); // a rebalancing move waits for a pause
  }
  return plan;
}

function cloneTasks(view: ReplicationView, under: UnderReplicated[], atTarget: Array<{ handle: ChunkHandle; replicas: ServerId[] }>, dropped: ReplicationPlan['dropExtra'], busy: (h: ChunkHandle) => boolean): CloneTask[] {
  const { servers, inFlight, limits } = view;
  if (under.length > 0) return planClones(under, servers, inFlight, limits);
  const spread = planSpread(atTarget, servers, inFlight, limits);
  if (spread.length > 0) return spread;
  const gone = (h: ChunkHandle, id: ServerId): boolean => dropped.some((d) => d.handle === h && d.server === id);
  return planRebalance(
    servers,
    (id) => view.chunksOn(id).filter((h) => !gone(h, id) && !view.cloning(h) && !busy(h)),
    (h) => view.liveReplicas(h, view.versionOf(h) ?? -1).filter((id) => !gone(h, id)),
    inFlight,
    limits,
  );
}

/**
 * The replica to drop from a chunk above its target (a server came back after its chunks were
 * cloned elsewhere, or a rebalancing clone finished): one on a rack that keeps another replica if
 * there is such, on the fullest server, never the lease holder's.
 */
export function extraReplica(replicas: readonly ServerId[], holder: ServerId | undefined, servers: readonly ServerInfo[]): ServerId | undefined {
  const byId = new Map(servers.map((s) => [s.id, s]));
  const rackOf = (id: ServerId): string | undefined => byId.get(id)?.rack;
  const loneRack = (id: ServerId): number => (replicas.filter((r) => rackOf(r) === rackOf(id)).length > 1 ? 0 : 1);
  const use = (id: ServerId): number => {
    const s = byId.get(id);
    return s && s.capacityBytes > 0 ? s.usedBytes / s.capacityBytes : 1;
  };
  return replicas.filter((id) => id !== holder).sort((a, b) => loneRack(a) - loneRack(b) || use(b) - use(a) || (a < b ? -1 : 1))[0];
}
