import type { Asks } from '@actorfs/actors';
import type { NamespaceChange } from '../protocol.ts';

/** What `stat` tells of a path. A file's size is its chunks before the last, full, plus the last one's length. */
export type FileStat = { kind: 'dir' } | { kind: 'file'; chunks: number; sizeBytes: number; chunkSizeBytes: number };

export interface ListEntry {
  name: string;
  kind: 'dir' | 'file';
}

/** A client session's protocol; GfsClient is the promise API over it. */
export type ClientMsg =
  | NamespaceChange
  | ({ type: 'list'; path: string } & Asks<ListEntry[]>)
  | ({ type: 'stat'; path: string } & Asks<FileStat>)
  /** Bytes [offset, offset + length) of a file; a range past its end is refused. */
  | ({ type: 'read'; path: string; offset: number; length: number } & Asks<Uint8Array>)
  /** The same bytes in the pieces they arrived in, in order (no copy into one array). */
  | ({ type: 'read-pieces'; path: string; offset: number; length: number } & Asks<Uint8Array[]>)
  /** Writes data at offset (split at chunk boundaries; chunks added as needed). */
  | ({ type: 'write'; path: string; offset: number; data: Uint8Array } & Asks<true>)
  /** Appends one record (encodeRecord format, with `id` or a fresh one); answers the file offset it landed at. */
  | ({ type: 'append'; path: string; payload: Uint8Array; id?: string } & Asks<number>);
