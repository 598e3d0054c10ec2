import type { Lease } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/**
 * Leases the master cannot see but that may still run at a primary, and so keep a chunk from
 * being cloned or shared by a snapshot while a mutation may still reach it:
 * - leases live only in memory, so one granted before this (re)start may still run, unknown here,
 *   for up to leaseMs: until then a chunk that existed at the start is taken as leased (a replica
 *   taking office as master starts this window again);
 * - a lease revoked without its holder's acknowledgement (the holder taken for dead, or the
 *   revocation lost) runs until its expiry at a holder partitioned rather than dead. At most one
 *   entry per chunk, dropped at the first `expire` after it ends.
 * Also when every live chunkserver has reported since the start. No I/O.
 */
export class LeaseWindows {
  private handlesAtStart = 0;
  private forgottenUntilMs = 0;
  private reportedAllByMs = 0;
  private readonly unacked = new Map<ChunkHandle, number>();

  /** A (re)start or a term taken: chunks below `nextHandle` may hold forgotten leases, and no server has reported yet. */
  startTerm(nowMs: number, nextHandle: ChunkHandle, timing: { leaseMs: number; serverTimeoutMs: number }): void {
    this.handlesAtStart = nextHandle;
    this.forgottenUntilMs = nowMs + timing.leaseMs;
    this.reportedAllByMs = nowMs + timing.serverTimeoutMs;
  }

  mayHaveForgotten(handle: ChunkHandle, nowMs: number): boolean {
    return handle < this.handlesAtStart && nowMs < this.forgottenUntilMs;
  }

  /** A lease revoked without an acknowledgement: it may run until it expires. */
  revokedUnacked(handle: ChunkHandle, lease: Lease): void {
    this.unacked.set(handle, Math.max(lease.expiresAtMs, this.unacked.get(handle) ?? 0));
  }

  /** Drops the unacknowledged leases that have run out. */
  expire(nowMs: number): void {
    for (const [h, untilMs] of this.unacked) if (untilMs <= nowMs) this.unacked.delete(h);
  }

  /** No lease runs (`running`, the master's own), nor may run, on the chunk: a clone may copy it. */
  quiet(handle: ChunkHandle, nowMs: number, running: Lease | undefined): boolean {
    return !running && !this.mayHaveForgotten(handle, nowMs) && !((this.unacked.get(handle) ?? 0) > nowMs);
  }

  /** Until when a snapshot sharing the chunk waits for leases it cannot revoke (nowMs: none). */
  unseenUntil(handle: ChunkHandle, nowMs: number): number {
    return Math.max(this.mayHaveForgotten(handle, nowMs) ? this.forgottenUntilMs : nowMs, this.unacked.get(handle) ?? nowMs);
  }

  /** Every live chunkserver has reported since the start: a chunk none reported is held by none alive. */
  reportedAll(nowMs: number): boolean {
    return nowMs >= this.reportedAllByMs;
  }
}
