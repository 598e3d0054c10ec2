import type { OpId } from '../namespace/locks.ts';
import type { ServerId } from './chunk-locations.ts';
import type { Answer, MasterHost } from './master-host.ts';
import { MetadataError } from './metadata.ts';
import type { ChunkHandle } from './records.ts';

/**
 * A snapshot, under write locks on its source and target: the leases of the source's chunks
 * are revoked first (their primaries told, and answered or expired), so no primary orders a
 * write to a chunk after it is shared; then the snapshot is logged and the locks let go.
 */
export function startSnapshot(m: MasterHost, op: OpId, source: string, target: string, answer: Answer): 'held' | undefined {
  if (!m.metadata.get(source)) throw new MetadataError('not-found', `${source} does not exist`);
  if (m.metadata.get(target)) throw new MetadataError('exists', `${target} already exists`);
  const now = m.ctx.now();
  const { untilMs, revoke } = m.snapshots.begin(
    op,
    m.metadata.chunksUnder(source),
    now,
    (h) => m.locations.lease(h, now),
    // (a lease forgotten in a restart, or revoked unacknowledged, cannot be revoked: the snapshot waits for its end)
    (h) => m.windows.unseenUntil(h, now),
    (waits) => ({ source, target, answer: waits && answer === m.inTurn ? m.later(m.ctx.replyHandle()) : answer }),
  );
  for (const { handle, holder } of revoke) m.tell(holder, { type: 'revoke-lease', handle });
  if (untilMs <= now) {
    finishSnapshot(m, op, false);
    return undefined;
  }
  // an unanswered revocation ends with the lease itself
  m.ctx.setTimer(`snapshot:${op}`, untilMs - now, { type: 'revoke-timeout', op });
  return 'held';
}

/** A primary acknowledged a revocation: the snapshots waiting for nothing more go on. */
export function leaseRevoked(m: MasterHost, server: ServerId, handle: ChunkHandle): void {
  for (const op of m.snapshots.revoked(server, handle, (h) => m.windows.mayHaveForgotten(h, m.ctx.now()))) finishSnapshot(m, op);
}

/** Every revocation answered or expired: the snapshot is logged and answered, and its locks let go. */
export function finishSnapshot(m: MasterHost, op: OpId, releaseLocks = true): void {
  const ended = m.snapshots.end(op);
  if (!ended) return;
  m.ctx.cancelTimer(`snapshot:${op}`);
  // answered or expired: the next write asks for a new lease, and so finds its chunk shared
  for (const h of ended.handles) m.locations.revokeLease(h);
  const { source, target, answer } = ended.payload;
  try {
    m.mutate({ type: 'snapshot', source, target });
    answer.replyDurable(true);
  } catch (err) {
    answer.fail(err);
  } finally {
    if (releaseLocks) m.ops.release(op);
  }
}
