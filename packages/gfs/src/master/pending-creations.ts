import type { ServerId } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/**
 * New chunks whose creation some server has not confirmed: per chunk, the servers told to create
 * it that have not reported it yet, and when they were last told. Bookkeeping only (the master
 * sends the orders). At most one entry per chunk, with at most its placed servers; an entry goes
 * once every server reported the chunk, or the master forgets it (the chunk is held or raised).
 */
export class PendingCreations {
  private readonly pending = new Map<ChunkHandle, { servers: Set<ServerId>; sentMs: number }>();

  /** The servers were told to create the chunk at nowMs. */
  ordered(handle: ChunkHandle, servers: readonly ServerId[], nowMs: number): void {
    if (servers.length > 0) this.pending.set(handle, { servers: new Set(servers), sentMs: nowMs });
  }

  /** The server holds the chunk, so a grant no longer needs to name it. */
  reported(server: ServerId, handle: ChunkHandle): void {
    const p = this.pending.get(handle);
    if (!p?.servers.delete(server)) return;
    if (p.servers.size === 0) this.pending.delete(handle);
  }

  forget(handle: ChunkHandle): void {
    this.pending.delete(handle);
  }

  clear(): void {
    this.pending.clear();
  }

  /** The servers still creating the chunk. */
  on(handle: ChunkHandle): ServerId[] {
    return [...(this.pending.get(handle)?.servers ?? [])];
  }

  /** Orders unanswered for afterMs, to send again (each counted as sent now). */
  due(nowMs: number, afterMs: number): Array<{ handle: ChunkHandle; servers: ServerId[] }> {
    const out: Array<{ handle: ChunkHandle; servers: ServerId[] }> = [];
    for (const [handle, p] of this.pending) {
      if (nowMs - p.sentMs < afterMs) continue;
      p.sentMs = nowMs;
      out.push({ handle, servers: [...p.servers] });
    }
    return out;
  }
}
