import type { GfsConfig } from '../config.ts';
import type { ServerId } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/** A live chunkserver as the master sees it from heartbeats. */
export interface ServerInfo {
  id: ServerId;
  rack: string;
  usedBytes: number;
  capacityBytes: number;
}

export type PlacementLimits = Pick<GfsConfig, 'maxRecentCreationsPerServer' | 'recentCreationWindowMs' | 'maxClonesInFlight' | 'maxClonesPerServer' | 'rebalanceThreshold' | 'chunkSizeBytes'>;

function utilization(s: ServerInfo): number {
  return s.capacityBytes > 0 ? s.usedBytes / s.capacityBytes : 1;
}

/**
 * Recent chunk creations per server, within a sliding window. New chunks draw heavy write
 * traffic, so placement skips a server that took maxRecent of them lately. Keeps at most maxRecent
 * times per server (that is all the question needs).
 */
export class RecentCreations {
  private readonly times = new Map<ServerId, number[]>();

  constructor(private readonly limits: Pick<PlacementLimits, 'maxRecentCreationsPerServer' | 'recentCreationWindowMs'>) {}

  record(server: ServerId, nowMs: number): void {
    const ts = this.recent(server, nowMs);
    ts.push(nowMs);
    if (ts.length > this.limits.maxRecentCreationsPerServer) ts.shift();
    this.times.set(server, ts);
  }

  atLimit(server: ServerId, nowMs: number): boolean {
    return this.recent(server, nowMs).length >= this.limits.maxRecentCreationsPerServer;
  }

  private recent(server: ServerId, nowMs: number): number[] {
    const ts = (this.times.get(server) ?? []).filter((t) => t > nowMs - this.limits.recentCreationWindowMs);
    if (ts.length === 0) this.times.delete(server);
    else this.times.set(server, ts);
    return ts;
  }
}

/**
 * Servers for `count` new replicas, the best first: not among `exclude`, on a rack no replica of
 * the chunk (in `exclude` or already picked) is on where possible, then at or below the average
 * disk use, then the least used. Returns fewer when too few servers qualify.
 */
export function chooseTargets(servers: readonly ServerInfo[], count: number, exclude: readonly ServerId[], eligible: (s: ServerInfo) => boolean = () => true): ServerId[] {
  const average = servers.reduce((sum, s) => sum + utilization(s), 0) / Math.max(1, servers.length);
  const racksOf = new Map(servers.map((s) => [s.id, s.rack]));
  const usedRacks = new Set(exclude.map((id) => racksOf.get(id)).filter((r): r is string => r !== undefined));
  const taken = new Set(exclude);
  const picked: ServerId[] = [];
  while (picked.length < count) {
    let best: ServerInfo | undefined;
    let bestKey: [number, number, number] | undefined;
    for (const s of servers) {
      if (taken.has(s.id) || !eligible(s)) continue;
      const key: [number, number, number] = [usedRacks.has(s.rack) ? 1 : 0, utilization(s) > average ? 1 : 0, utilization(s)];
      if (!bestKey || compareTuples(key, bestKey) < 0 || (compareTuples(key, bestKey) === 0 && s.id < best!.id)) {
        best = s;
        bestKey = key;
      }
    }
    if (!best) break;
    picked.push(best.id);
    taken.add(best.id);
    usedRacks.add(best.rack);
  }
  return picked;
}

/** Servers for a new chunk's replicas, skipping those that took too many chunks lately. */
export function placeNewChunk(servers: readonly ServerInfo[], replicas: number, recent: RecentCreations, nowMs: number): ServerId[] {
  return chooseTargets(servers, replicas, [], (s) => !recent.atLimit(s.id, nowMs));
}

function compareTuples(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** A chunk below its replication target. */
export interface UnderReplicated {
  handle: ChunkHandle;
  /** Servers holding a live (current-version) replica. */
  replicas: ServerId[];
  target: number;
  /** Only deleted (hidden) files refer to it. */
  deleted: boolean;
  /** A client waits on it (a write or read found too few replicas). */
  blockingClient: boolean;
}

/** The most endangered first: fewest live replicas, then chunks blocking a client, then live files before deleted ones. */
export function replicationOrder(chunks: readonly UnderReplicated[]): UnderReplicated[] {
  const key = (c: UnderReplicated): number[] => [c.replicas.length, c.blockingClient ? 0 : 1, c.deleted ? 1 : 0, c.handle];
  return [...chunks].sort((a, b) => compareTuples(key(a), key(b)));
}

export interface CloneTask {
  handle: ChunkHandle;
  source: ServerId;
  target: ServerId;
}

/** Clones running now, in the whole cell and per server (a server counts as source or target). */
export interface ClonesInFlight {
  total: number;
  perServer: Map<ServerId, number>;
}

/**
 * Clone tasks for under-replicated chunks, the most endangered first, within the limits on clones
 * in flight (updating `inFlight`). A chunk with no live replica cannot be cloned and is skipped;
 * so is one for which no source or target has room.
 */
export function planClones(chunks: readonly UnderReplicated[], servers: readonly ServerInfo[], inFlight: ClonesInFlight, limits: PlacementLimits): CloneTask[] {
  const tasks: CloneTask[] = [];
  const busy = (id: ServerId): number => inFlight.perServer.get(id) ?? 0;
  const hasRoom = (id: ServerId): boolean => busy(id) < limits.maxClonesPerServer;
  for (const chunk of replicationOrder(chunks)) {
    const holders = [...chunk.replicas];
    for (let missing = chunk.target - chunk.replicas.length; missing > 0; missing--) {
      if (inFlight.total >= limits.maxClonesInFlight) return tasks;
      const source = chunk.replicas.filter(hasRoom).sort((a, b) => busy(a) - busy(b) || (a < b ? -1 : 1))[0];
      if (source === undefined) break;
      const [target] = chooseTargets(servers, 1, holders, (s) => hasRoom(s.id));
      if (target === undefined) break;
      tasks.push({ handle: chunk.handle, source, target });
      holders.push(target);
      inFlight.total++;
      inFlight.perServer.set(source, busy(source) + 1);
      inFlight.perServer.set(target, busy(target) + 1);
    }
  }
  return tasks;
}

/**
 * Moves that spread a chunk at its target over more racks (its replicas share a rack while a
 * server with room sits on a rack they miss; placement while racks were unreachable leaves such
 * chunks): a clone to that rack, after which the master drops the extra replica from a shared
 * rack. Within the clone limits (updating `inFlight`).
 */
export function planSpread(chunks: ReadonlyArray<{ handle: ChunkHandle; replicas: readonly ServerId[] }>, servers: readonly ServerInfo[], inFlight: ClonesInFlight, limits: PlacementLimits): CloneTask[] {
  const tasks: CloneTask[] = [];
  const rackOf = new Map(servers.map((s) => [s.id, s.rack]));
  const busy = (id: ServerId): number => inFlight.perServer.get(id) ?? 0;
  const hasRoom = (id: ServerId): boolean => busy(id) < limits.maxClonesPerServer;
  for (const chunk of chunks) {
    if (inFlight.total >= limits.maxClonesInFlight) break;
    const racks = new Set(chunk.replicas.map((id) => rackOf.get(id)));
    if (racks.size === chunk.replicas.length) continue;
    const source = chunk.replicas.filter(hasRoom).sort((a, b) => busy(a) - busy(b) || (a < b ? -1 : 1))[0];
    const [target] = chooseTargets(servers, 1, chunk.replicas, (s) => !racks.has(s.rack) && hasRoom(s.id));
    if (source === undefined || target === undefined) continue;
    tasks.push({ handle: chunk.handle, source, target });
    inFlight.total++;
    inFlight.perServer.set(source, busy(source) + 1);
    inFlight.perServer.set(target, busy(target) + 1);
  }
  return tasks;
}

export type Move = CloneTask;

/**
 * Rebalancing: moves of one chunk replica each (clone to `target`, then drop at `source`) from
 * the most used server to the least used one, while their disk use differs by more than the
 * threshold, within the clone limits (updating `inFlight`). A move never puts two replicas of a
 * chunk on one server and never lowers the number of racks a chunk spans. Counts each chunk as
 * chunkSizeBytes.
 */
export function planRebalance(
  servers: readonly ServerInfo[],
  chunksOn: (server: ServerId) => readonly ChunkHandle[],
  replicasOf: (handle: ChunkHandle) => readonly ServerId[],
  inFlight: ClonesInFlight,
  limits: PlacementLimits,
): Move[] {
  const sim = new Map(servers.map((s) => [s.id, { ...s }]));
  const rackOf = (id: ServerId): string | undefined => sim.get(id)?.rack;
  const moved = new Set<ChunkHandle>();
  const moves: Move[] = [];
  const hasRoom = (id: ServerId): boolean => (inFlight.perServer.get(id) ?? 0) < limits.maxClonesPerServer;
  const movable = (h: ChunkHandle, from: ServerInfo, to: ServerInfo): boolean => {
    if (moved.has(h)) return false;
    const holders = replicasOf(h);
    if (holders.includes(to.id)) return false;
    const racksBefore = new Set(holders.map(rackOf)).size;
    const racksAfter = new Set(holders.filter((id) => id !== from.id).map(rackOf).concat(to.rack)).size;
    return racksAfter >= racksBefore;
  };
  /** The fullest source with a chunk that fits on the emptiest possible target. */
  const nextMove = (): { from: ServerInfo; to: ServerInfo; handle: ChunkHandle } | undefined => {
    const byUse = [...sim.values()].filter((s) => hasRoom(s.id)).sort((a, b) => utilization(a) - utilization(b) || (a.id < b.id ? -1 : 1));
    for (const from of [...byUse].reverse()) {
      for (const to of byUse) {
        if (utilization(from) - utilization(to) <= limits.rebalanceThreshold) break;
        // skip where the move would swap their order (it would only move the imbalance)
        if ((to.usedBytes + limits.chunkSizeBytes) / to.capacityBytes > (from.usedBytes - limits.chunkSizeBytes) / from.capacityBytes) break;
        const handle = chunksOn(from.id).find((h) => movable(h, from, to));
        if (handle !== undefined) return { from, to, handle };
      }
    }
    return undefined;
  };
  while (inFlight.total < limits.maxClonesInFlight) {
    const move = nextMove();
    if (!move) break;
    const { from, to, handle } = move;
    moves.push({ handle, source: from.id, target: to.id });
    moved.add(handle);
    from.usedBytes -= limits.chunkSizeBytes;
    to.usedBytes += limits.chunkSizeBytes;
    inFlight.total++;
    for (const id of [from.id, to.id]) inFlight.perServer.set(id, (inFlight.perServer.get(id) ?? 0) + 1);
  }
  return moves;
}
