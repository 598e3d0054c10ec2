import { decode, encode, type ActorStorage } from '@actorfs/actors';
import type { Replica, SnapshotMeta } from './replica.ts';

const META = 'snap-meta';
const PIECE = 'snap-piece';
/** Pieces read from storage at once when a snapshot is restored or its pieces deleted. */
const PAGE = 64;
/** Pieces read at once for a chunk to a peer: a chunk holds a few (maxReplyBytes), so reading 64 would copy many for nothing. */
const CHUNK_PAGE = 4;

/**
 * A learner's snapshots in storage, in pieces: ['snap-piece', index, i] per piece and one header
 * naming the current snapshot. A piece is kept as its msgpack bytes, the form it travels in: a
 * peer sends stored pieces without decoding them, and the receiver stores them as they came
 * (decoding each once, for the state it restores). A snapshot arriving from a peer is stored piece
 * by piece beside the current one and becomes current only when complete, so a crash at any point
 * leaves a whole snapshot to restore from.
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
    for (const piece of replica.pieces(counted)) this.putPiece(index, total++, encode(piece));
    const meta: SnapshotMeta = { index, time: replica.time, machinePieces: counted.machinePieces, total };
    this.install(meta);
    return meta;
  }

  /** Stores a piece's bytes (a piece encoded by `write`, or by a peer's). */
  putPiece(index: number, i: number, bytes: Uint8Array): void {
    this.store.put([PIECE, index, i], bytes);
  }

  /** Makes a fully stored snapshot current and deletes every other one's pieces. */
  install(meta: SnapshotMeta): void {
    this.store.put(META, meta);
    this.dropExcept(meta.index);
  }

  /** The bytes of pieces from..to-1 of snapshot `index`, read a page at a time. */
  *pieces(index: number, from: number, to: number, pageSize = PAGE): Iterable<Uint8Array> {
    for (let at = from; at < to; at += pageSize) {
      const end = Math.min(to, at + pageSize);
      const page = this.store.range<unknown>({ start: [PIECE, index, at], end: [PIECE, index, end] });
      if (page.length !== end - at) throw new Error(`snapshot ${index} is missing pieces in ${at}..${end - 1}`);
      for (const row of page) {
        if (!(row.value instanceof Uint8Array)) throw new Error(`snapshot ${index} piece ${String(row.key[2])} is not stored as bytes`);
        yield row.value;
      }
    }
  }

  /** The bytes of pieces from `from` on of snapshot `index`, adding up to maxBytes at most (at least one piece). */
  chunk(meta: SnapshotMeta, from: number, maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const piece of this.pieces(meta.index, from, meta.total, CHUNK_PAGE)) {
      bytes += piece.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(piece);
    }
    return out;
  }

  /** Restores the replica from a snapshot in storage. */
  restoreInto(replica: Replica, meta: SnapshotMeta): void {
    replica.restore(meta.time, decodeAll(this.pieces(meta.index, 0, meta.machinePieces)), decodeAll(this.pieces(meta.index, meta.machinePieces, meta.total)));
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

/** Restores the replica from a snapshot's decoded pieces: the machine's, then the sessions'. */
export function restorePieces(replica: Replica, meta: SnapshotMeta, pieces: unknown[]): void {
  replica.restore(meta.time, pieces.slice(0, meta.machinePieces), pieces.slice(meta.machinePieces));
}

/** A piece as the machine (or the session table) made it. */
export function decodePiece(bytes: Uint8Array): unknown {
  return decode(bytes);
}

function* decodeAll(pieces: Iterable<Uint8Array>): Iterable<unknown> {
  for (const p of pieces) yield decodePiece(p);
}
