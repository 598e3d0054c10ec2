import type { ActorStorage } from '@actorfs/actors';
import type { Replica, SnapshotMeta } from './replica.ts';
import { approxBytes } from './size.ts';

const META = 'snap-meta';
const PIECE = 'snap-piece';
/** Pieces read from storage at once when a snapshot is restored or its pieces deleted. */
const PAGE = 64;
/** Pieces read at once for a chunk to a peer: a chunk holds a few (maxReplyBytes), so reading 64 would decode many for nothing. */
const CHUNK_PAGE = 4;

/**
 * A learner's snapshots in storage, in pieces: ['snap-piece', index, i] per piece and one header
 * naming the current snapshot. A snapshot arriving from a peer is stored piece by piece beside the
 * current one and becomes current only when complete, so a crash at any point leaves a whole
 * snapshot to restore from.
 */
export class SnapshotStore {
  constructor(private readonly store: ActorStorage) {}

  current(): SnapshotMeta | undefined {
    return this.store.get<SnapshotMeta>(META);
  }

  /** Writes the replica's state as the snapshot at `index` and makes it current. */
  write(index: number, replica: Replica): SnapshotMeta {
    const counted = { machinePieces: 0 };
    let total = 0;
    for (const piece of replica.pieces(counted)) this.putPiece(index, total++, piece);
    const meta: SnapshotMeta = { index, time: replica.time, machinePieces: counted.machinePieces, total };
    this.install(meta);
    return meta;
  }

  putPiece(index: number, i: number, piece: unknown): void {
    this.store.put([PIECE, index, i], piece);
  }

  /** Makes a fully stored snapshot current and deletes every other one's pieces. */
  install(meta: SnapshotMeta): void {
    this.store.put(META, meta);
    this.dropExcept(meta.index);
  }

  /** Pieces from..to-1 of snapshot `index`, read a page at a time. */
  *pieces(index: number, from: number, to: number, pageSize = PAGE): Iterable<unknown> {
    for (let at = from; at < to; at += pageSize) {
      const end = Math.min(to, at + pageSize);
      const page = this.store.range({ start: [PIECE, index, at], end: [PIECE, index, end] });
      if (page.length !== end - at) throw new Error(`snapshot ${index} is missing pieces in ${at}..${end - 1}`);
      for (const row of page) yield row.value;
    }
  }

  /** Pieces from `from` on of snapshot `index` adding up to about maxBytes (at least one). */
  chunk(meta: SnapshotMeta, from: number, maxBytes: number): unknown[] {
    const out: unknown[] = [];
    let bytes = 0;
    for (const piece of this.pieces(meta.index, from, meta.total, CHUNK_PAGE)) {
      bytes += approxBytes(piece);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(piece);
    }
    return out;
  }

  /** Restores the replica from the current snapshot, if there is one. */
  restoreInto(replica: Replica, meta: SnapshotMeta): void {
    replica.restore(meta.time, this.pieces(meta.index, 0, meta.machinePieces), this.pieces(meta.index, meta.machinePieces, meta.total));
  }

  /** Deletes the pieces of every snapshot but `keep` (a superseded one, or a partial download). */
  dropExcept(keep: number): void {
    this.dropRange([PIECE, 0], [PIECE, keep]);
    this.dropRange([PIECE, keep + 1], [PIECE, Number.MAX_SAFE_INTEGER]);
  }

  private dropRange(start: Array<string | number>, end: Array<string | number>): void {
    for (;;) {
      const page = this.store.range({ start, end, limit: PAGE });
      if (page.length === 0) return;
      for (const { key } of page) this.store.delete(key);
    }
  }
}
