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

/** What a scan's reclaim reads of the master's state; queries only. */
export interface ReclaimView {
  /** No operation holds the path's locks (a snapshot in progress may). */
  free(path: string): boolean;
  chunksUnder(path: string): ChunkHandle[];
  /** Some file still refers to the chunk. */
  known(handle: ChunkHandle): boolean;
}

/**
 * One scan's reclaim of the hidden files due (deleted longer ago than the delay): each is removed
 * for good through `reclaim` (which logs and applies the record), except one whose path an
 * operation holds (a snapshot in progress), which waits for the next scan. Then each of its chunks
 * no file refers to any more is `forget`-ten: its replicas are orphans from then on.
 */
export function reclaimDue(due: readonly string[], view: ReclaimView, effects: { reclaim(hiddenPath: string): void; forget(handle: ChunkHandle): void }): void {
  for (const hiddenPath of due) {
    if (!view.free(hiddenPath)) continue;
    const chunks = view.chunksUnder(hiddenPath);
    effects.reclaim(hiddenPath);
    for (const h of chunks) if (!view.known(h)) effects.forget(h);
  }
}
