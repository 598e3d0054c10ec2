import type { ServerId } from './chunk-locations.ts';
import { reclaimDue } from './garbage-collection.ts';
import { revokeLease } from './leases.ts';
import type { MasterHost } from './master-host.ts';
import { createAgain } from './new-chunks.ts';
import { reReplicate } from './re-replication.ts';
import type { ChunkHandle } from './records.ts';

/** Hidden files reclaimed per scan at most (the rest wait for the next scan). */
const RECLAIM_PER_SCAN = 1000;
/**
 * A dead chunkserver's report stamp is dropped after this many server timeouts: by then no report
 * it sent before it went silent is still in flight (the master heard nothing from it meanwhile).
 */
const STAMP_KEPT_SERVER_TIMEOUTS = 10;

/**
 * The master's regular scan: silent chunkservers are taken for dead, unanswered creations ordered
 * again, deleted files past the delay reclaimed, and chunks re-replicated or rebalanced.
 */
export function scan(m: MasterHost): void {
  const now = m.ctx.now();
  m.windows.expire(now);
  m.reportOrder.forgetDead(now, STAMP_KEPT_SERVER_TIMEOUTS * m.config.serverTimeoutMs);
  for (const [id, s] of m.servers) if (s.lastSeenMs + m.config.serverTimeoutMs < now) takenForDead(m, id, now);
  createAgain(m, now);
  reclaim(m, now);
  reReplicate(m, now);
}

function takenForDead(m: MasterHost, id: ServerId, now: number): void {
  m.ctx.log.info('chunkserver silent, taken for dead', { server: id });
  // a lease whose primary forwards to the dead server would fail every mutation until it
  // ran out: revoked, the next grant raises the version among the replicas still alive
  for (const h of m.locations.chunksOn(id)) {
    const lease = m.locations.lease(h, now);
    if (lease?.holder === id) m.windows.revokedUnacked(h, lease);
  }
  for (const h of [...m.locations.removeServer(id), ...m.grants.serverDied(id)]) revokeLease(m, h);
  m.servers.delete(id);
  m.reportOrder.dead(id, now);
}

/** Deleted files past the delay are removed for good (see reclaimDue); the next heartbeats have their orphaned replicas deleted. */
function reclaim(m: MasterHost, now: number): void {
  const due = m.metadata.dueForReclaim(now, m.config.gcDelayMs, RECLAIM_PER_SCAN);
  const view = { free: (p: string) => m.ops.free({ write: [p] }), chunksUnder: (p: string) => m.metadata.chunksUnder(p), known: (h: ChunkHandle) => m.metadata.chunk(h) !== undefined };
  reclaimDue(due, view, {
    reclaim: (hiddenPath) => m.mutate({ type: 'reclaim', hiddenPath }),
    forget: (h) => {
      m.locations.forgetChunk(h);
      m.grants.forget(h);
      m.creating.forget(h);
    },
  });
}
