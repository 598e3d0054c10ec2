import type { ChunkHandle } from './records.ts';

export type ServerId = string;
export interface ReplicaReport {
  handle: ChunkHandle;
  version: number;
}
export interface Lease {
  holder: ServerId;
  expiresAtMs: number;
}
/** What the master makes of one chunkserver's report. */
export interface ReportVerdict {
  /** Chunks no file refers to: the chunkserver deletes them. */
  orphaned: ChunkHandle[];
  /** Replicas older than the master's version: never given to clients; the chunkserver deletes them. */
  stale: ChunkHandle[];
  /** Replicas newer than the master's version (it failed while granting a lease): the master adopts their version. */
  ahead: ReplicaReport[];
}

/**
 * Where chunks live, which the master does not persist but learns from chunkservers (at start
 * and in every heartbeat): each replica's server and version, and each chunk's primary lease.
 * Holds only replicas of chunks the metadata knows, at the current version or newer.
 */
export class ChunkLocations {
  private readonly replicas = new Map<ChunkHandle, Map<ServerId, number>>();
  private readonly byServer = new Map<ServerId, Set<ChunkHandle>>();
  private readonly leases = new Map<ChunkHandle, Lease>();
  /** Per server, the chunks its last report held at a version older than the master's, and those versions. */
  private readonly older = new Map<ServerId, Map<ChunkHandle, number>>();

  /** A server's full report replaces what was known of it. `versionOf` is the metadata's version (undefined: unknown chunk). */
  applyReport(server: ServerId, chunks: readonly ReplicaReport[], versionOf: (h: ChunkHandle) => number | undefined): ReportVerdict {
    const verdict: ReportVerdict = { orphaned: [], stale: [], ahead: [] };
    const older = new Map<ChunkHandle, number>();
    const before = this.byServer.get(server) ?? new Set<ChunkHandle>();
    const counts = (c: ReplicaReport): boolean => (versionOf(c.handle) ?? Infinity) <= c.version;
    const reported = new Set(chunks.filter(counts).map((c) => c.handle));
    // replicas it no longer holds go (with their leases); the rest are refreshed below, leases kept
    for (const h of before) if (!reported.has(h)) this.removeReplica(server, h);
    for (const { handle, version } of chunks) {
      const current = versionOf(handle);
      if (current === undefined) verdict.orphaned.push(handle);
      else if (version < current) {
        verdict.stale.push(handle);
        older.set(handle, version);
      } else {
        if (version > current) verdict.ahead.push({ handle, version });
        this.addReplica(server, handle, version);
      }
    }
    if (older.size > 0) this.older.set(server, older);
    else this.older.delete(server);
    return verdict;
  }

  /** The version older than the master's at which the server's last report held the chunk (a stale or not yet raised replica), if any. */
  olderVersion(server: ServerId, handle: ChunkHandle): number | undefined {
    return this.older.get(server)?.get(handle);
  }

  addReplica(server: ServerId, handle: ChunkHandle, version: number): void {
    let rs = this.replicas.get(handle);
    if (!rs) this.replicas.set(handle, (rs = new Map()));
    rs.set(server, version);
    let hs = this.byServer.get(server);
    if (!hs) this.byServer.set(server, (hs = new Set()));
    hs.add(handle);
  }

  removeReplica(server: ServerId, handle: ChunkHandle): void {
    const rs = this.replicas.get(handle);
    rs?.delete(server);
    if (rs?.size === 0) this.replicas.delete(handle);
    this.byServer.get(server)?.delete(handle);
    if (this.leases.get(handle)?.holder === server) this.leases.delete(handle);
    this.older.get(server)?.delete(handle);
  }

  /** A dead server: forgets its replicas and leases; returns the chunks that lost a replica. */
  removeServer(server: ServerId): ChunkHandle[] {
    const lost = [...(this.byServer.get(server) ?? [])];
    for (const h of lost) this.removeReplica(server, h);
    this.byServer.delete(server);
    this.older.delete(server);
    return lost;
  }

  /** Forgets a chunk the metadata dropped (reclaimed); its replicas become orphans. */
  forgetChunk(handle: ChunkHandle): void {
    for (const server of this.replicas.get(handle)?.keys() ?? []) this.byServer.get(server)?.delete(handle);
    this.replicas.delete(handle);
    this.leases.delete(handle);
    for (const older of this.older.values()) older.delete(handle);
  }

  /** Replicas at exactly `version` (the metadata's): the only ones clients are given. Sorted by server. */
  liveReplicas(handle: ChunkHandle, version: number): ServerId[] {
    return [...(this.replicas.get(handle) ?? [])]
      .filter(([, v]) => v === version)
      .map(([s]) => s)
      .sort();
  }

  /**
   * After the metadata's version rose (a lease grant), replicas still at an older version are
   * stale: they are dropped here and returned for deletion.
   */
  dropStale(handle: ChunkHandle, version: number): ServerId[] {
    const stale = [...(this.replicas.get(handle) ?? [])].filter(([, v]) => v < version).map(([s]) => s);
    for (const s of stale) this.removeReplica(s, handle);
    return stale.sort();
  }

  chunksOn(server: ServerId): ChunkHandle[] {
    return [...(this.byServer.get(server) ?? [])].sort((a, b) => a - b);
  }

  /** Grants (or renews, for the same holder) the primary lease; refused while another server's lease runs. */
  grantLease(handle: ChunkHandle, holder: ServerId, nowMs: number, leaseMs: number): Lease {
    const current = this.lease(handle, nowMs);
    if (current && current.holder !== holder) {
      throw new Error(`chunk ${handle}: ${current.holder} holds the lease until ${current.expiresAtMs}`);
    }
    if (!this.replicas.get(handle)?.has(holder)) throw new Error(`chunk ${handle}: ${holder} holds no replica`);
    const lease = { holder, expiresAtMs: nowMs + leaseMs };
    this.leases.set(handle, lease);
    return lease;
  }

  /** The lease in force at nowMs, if any. */
  lease(handle: ChunkHandle, nowMs: number): Lease | undefined {
    const l = this.leases.get(handle);
    return l && l.expiresAtMs > nowMs ? l : undefined;
  }

  /** Extends a running lease of `holder` (heartbeats do this while mutations go on); false if it has none. */
  extendLease(handle: ChunkHandle, holder: ServerId, nowMs: number, leaseMs: number): boolean {
    const l = this.lease(handle, nowMs);
    if (!l || l.holder !== holder) return false;
    this.leases.set(handle, { holder, expiresAtMs: nowMs + leaseMs });
    return true;
  }

  /** Before a snapshot: the primary must ask again, so its next write finds the chunk shared. */
  revokeLease(handle: ChunkHandle): void {
    this.leases.delete(handle);
  }
}
