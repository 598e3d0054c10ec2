import type { ReportVerdict } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/**
 * The replicas a chunkserver's heartbeat answer tells it to delete: orphans (chunks no file refers
 * to), and stale replicas (older than the master's version) unless `kept`: one a version raise
 * still waits for is late, not stale; one being cloned is unfinished; and the last copies of a
 * chunk (none at the current version, after a restart that logged a raise no replica got) are all
 * there is.
 */
export function replicasToDelete(verdict: Pick<ReportVerdict, 'orphaned' | 'stale'>, kept: (handle: ChunkHandle) => boolean): ChunkHandle[] {
  return [...verdict.orphaned, ...verdict.stale.filter((h) => !kept(h))];
}
