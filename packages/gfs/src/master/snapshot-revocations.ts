import type { OpId } from '../namespace/locks.ts';
import type { Lease, ServerId } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

interface Pending<T> {
  payload: T;
  handles: ChunkHandle[];
  /** Chunk -> the primary whose acknowledgement (or lease expiry) the snapshot waits for. */
  awaiting: Map<ChunkHandle, ServerId>;
}

/**
 * Snapshots waiting for the leases on their chunks to end: a snapshot may share a chunk only once
 * no primary can order a write to it, so each running lease is revoked (its primary told) and the
 * snapshot waits for the acknowledgement or the lease's expiry, and for the end of a lease the
 * master may have forgotten in a restart. Meanwhile the chunks' leases are neither extended nor
 * granted. No I/O: the master sends the revocations, keeps the timer and logs the snapshot.
 */
export class SnapshotRevocations<T> {
  private readonly revoking = new Map<ChunkHandle, number>();
  private readonly pending = new Map<OpId, Pending<T>>();

  /**
   * Starts revoking the leases on `handles`: returns the revocations to send and until when the
   * snapshot may have to wait (nowMs: it need not wait). `forgottenUntil` is the end of a lease the
   * master may have forgotten on the chunk, if any; `payload` is built knowing whether it waits.
   */
  begin(op: OpId, handles: readonly ChunkHandle[], nowMs: number, leaseOf: (h: ChunkHandle) => Lease | undefined, forgottenUntil: (h: ChunkHandle) => number | undefined, payload: (waits: boolean) => T): { untilMs: number; revoke: Array<{ handle: ChunkHandle; holder: ServerId }> } {
    const unique = [...new Set(handles)];
    const awaiting = new Map<ChunkHandle, ServerId>();
    const revoke: Array<{ handle: ChunkHandle; holder: ServerId }> = [];
    let untilMs = nowMs;
    for (const h of unique) {
      this.revoking.set(h, (this.revoking.get(h) ?? 0) + 1);
      untilMs = Math.max(untilMs, forgottenUntil(h) ?? nowMs);
      const lease = leaseOf(h);
      if (!lease) continue;
      awaiting.set(h, lease.holder);
      untilMs = Math.max(untilMs, lease.expiresAtMs);
      revoke.push({ handle: h, holder: lease.holder });
    }
    this.pending.set(op, { payload: payload(untilMs > nowMs), handles: unique, awaiting });
    return { untilMs, revoke };
  }

  /** A primary gave its lease up: returns the snapshots waiting for nothing more (`mayStillRun`: a forgotten lease on the chunk). */
  revoked(server: ServerId, handle: ChunkHandle, mayStillRun: (h: ChunkHandle) => boolean): OpId[] {
    const done: OpId[] = [];
    for (const [op, s] of this.pending) {
      if (s.awaiting.get(handle) !== server) continue;
      s.awaiting.delete(handle);
      if (s.awaiting.size === 0 && !s.handles.some(mayStillRun)) done.push(op);
    }
    return done;
  }

  /** The snapshot stops waiting (answered, expired, or out of office): returns it, its chunks no longer being revoked for it. */
  end(op: OpId): { payload: T; handles: ChunkHandle[] } | undefined {
    const s = this.pending.get(op);
    if (!s) return undefined;
    this.pending.delete(op);
    for (const h of s.handles) {
      const n = this.revoking.get(h)! - 1;
      if (n === 0) this.revoking.delete(h);
      else this.revoking.set(h, n);
    }
    return { payload: s.payload, handles: s.handles };
  }

  isRevoking(handle: ChunkHandle): boolean {
    return this.revoking.has(handle);
  }

  ops(): OpId[] {
    return [...this.pending.keys()];
  }

  /** Out of office: every snapshot stops waiting; returns their payloads. */
  clear(): T[] {
    const payloads = [...this.pending.values()].map((s) => s.payload);
    this.pending.clear();
    this.revoking.clear();
    return payloads;
  }
}
