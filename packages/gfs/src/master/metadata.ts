import { PathTable } from '../namespace/path-table.ts';
import { baseName, childPath, hiddenName, isWithin, parentOf, parseHiddenName, ROOT } from '../namespace/path.ts';
import { recordShapeProblem, type ChunkHandle, type MetadataRecord } from './records.ts';

export type Entry = { kind: 'dir' } | { kind: 'file'; chunks: ChunkHandle[] };
export interface ChunkMeta {
  version: number;
  /** Files (live or deleted) that list this chunk; above 1 after a snapshot, until copy-on-write. */
  refs: number;
}

export type MetadataErrorCode = 'not-found' | 'exists' | 'not-a-directory' | 'not-a-file' | 'not-empty' | 'bad-record';

export class MetadataError extends Error {
  constructor(
    readonly code: MetadataErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MetadataError';
  }
}

/** A checkpoint, as pieces of at most `rows` rows each: a header, then namespace rows, then chunk rows. */
export type CheckpointPiece =
  | { type: 'header'; nextHandle: ChunkHandle; lastDeletedAtMs: number; namespaceRows: number; chunkRows: number }
  | { type: 'namespace'; rows: Array<[path: string, entry: Entry]> }
  | { type: 'chunks'; rows: Array<[handle: ChunkHandle, version: number, refs: number]> };

/**
 * The master's persistent metadata as a pure state machine: the namespace (full paths), each
 * file's chunk handles, each chunk's version and reference count. It changes only by `apply`
 * of an op-log record, which either applies whole or throws a MetadataError and changes nothing.
 * Chunk locations and leases are not here: the master learns them from chunkservers (see
 * ChunkLocations).
 */
export class MasterMetadata {
  private readonly namespace = new PathTable<Entry>();
  private readonly chunkMeta = new Map<ChunkHandle, ChunkMeta>();
  /**
   * The servers each chunk's newest version raise was sent to, from the log since the last
   * checkpoint (a checkpoint does not keep them: a raise lost before it waits for its servers).
   */
  private readonly raises = new Map<ChunkHandle, { version: number; servers: string[] }>();
  /** Handles below this were given out; a new chunk takes a handle at or above it. */
  private nextHandle: ChunkHandle = 1;
  /** Deletion times only grow, which keeps hidden names unique. */
  private lastDeletedAtMs = 0;

  constructor() {
    this.namespace.set(ROOT, { kind: 'dir' });
  }

  get(path: string): Entry | undefined {
    return this.namespace.get(path);
  }

  /** A directory's children by name, hidden (deleted) files included. */
  list(dir: string): Array<{ name: string; entry: Entry }> {
    this.dirAt(dir);
    return [...this.namespace.children(dir)].map(([path, entry]) => ({ name: baseName(path), entry }));
  }

  /** Chunks some live (not deleted) file refers to; the others belong to deleted files only. */
  liveFileChunks(): Set<ChunkHandle> {
    const live = new Set<ChunkHandle>();
    for (const [path, entry] of this.namespace.entries()) {
      if (entry.kind === 'file' && !parseHiddenName(baseName(path))) for (const h of entry.chunks) live.add(h);
    }
    return live;
  }

  /** Live (not deleted) files. */
  fileCount(): number {
    let files = 0;
    for (const [path, entry] of this.namespace.entries()) if (entry.kind === 'file' && !parseHiddenName(baseName(path))) files++;
    return files;
  }

  /** Every chunk with its metadata (re-replication scans them). */
  chunks(): IterableIterator<[ChunkHandle, ChunkMeta]> {
    return this.chunkMeta.entries();
  }

  chunk(handle: ChunkHandle): ChunkMeta | undefined {
    return this.chunkMeta.get(handle);
  }

  /** The servers the chunk's newest version raise went to, if the log since the checkpoint has it. */
  lastRaise(handle: ChunkHandle): { version: number; servers: string[] } | undefined {
    return this.raises.get(handle);
  }

  /** The chunks of every file at or below `path` (a snapshot revokes their leases first). */
  chunksUnder(path: string): ChunkHandle[] {
    const entry = this.namespace.get(path);
    const entries: Entry[] = entry ? [entry, ...(entry.kind === 'dir' ? [...this.namespace.subtree(path)].map(([, e]) => e) : [])] : [];
    return entries.flatMap((e) => (e.kind === 'file' ? e.chunks : []));
  }

  /** The handle the next new chunk gets. */
  newHandle(): ChunkHandle {
    return this.nextHandle;
  }

  /** A deletion time (whole ms) at or after nowMs that keeps deletion times increasing. */
  deletionTime(nowMs: number): number {
    return Math.max(Math.floor(nowMs), this.lastDeletedAtMs + 1);
  }

  /** Hidden files deleted at least gcDelayMs before nowMs, at most `limit` of them, in namespace order. */
  dueForReclaim(nowMs: number, gcDelayMs: number, limit: number): string[] {
    const due: string[] = [];
    for (const [path, entry] of this.namespace.entries()) {
      if (due.length >= limit) break;
      const hidden = parseHiddenName(baseName(path));
      if (entry.kind === 'file' && hidden && hidden.deletedAtMs + gcDelayMs <= nowMs) due.push(path);
    }
    return due;
  }

  /** The hidden names a deleted `path` goes by, the newest deletion last. */
  deletedVersionsOf(path: string): string[] {
    const parent = parentOf(path);
    if (parent === undefined || this.namespace.get(parent)?.kind !== 'dir') return [];
    const name = baseName(path);
    return [...this.namespace.children(parent)]
      .map(([p]) => ({ p, h: parseHiddenName(baseName(p)) }))
      .filter(({ h }) => h?.name === name)
      .sort((a, b) => a.h!.deletedAtMs - b.h!.deletedAtMs)
      .map(({ p }) => p);
  }

  apply(record: MetadataRecord): void {
    const problem = recordShapeProblem(record);
    if (problem) throw new MetadataError('bad-record', problem);
    switch (record.type) {
      case 'mkdir':
        return this.applyMkdir(record);
      case 'rmdir':
        return this.applyRmdir(record);
      case 'create':
        return this.applyCreate(record);
      case 'add-chunk':
        return this.applyAddChunk(record);
      case 'set-version':
        return this.applySetVersion(record);
      case 'delete':
        return this.applyDelete(record);
      case 'undelete':
        return this.applyUndelete(record);
      case 'reclaim':
        return this.applyReclaim(record);
      case 'rename':
        return this.applyRename(record);
      case 'snapshot':
        return this.applySnapshot(record);
      case 'copy-on-write':
        return this.applyCopyOnWrite(record);
      default: {
        const never: never = record;
        throw new MetadataError('bad-record', `unknown record ${JSON.stringify(never)}`);
      }
    }
  }

  private applyMkdir(record: Extract<MetadataRecord, { type: 'mkdir' }>): void {
    this.mustBeFree(record.path);
    this.namespace.set(record.path, { kind: 'dir' });
  }

  private applyRmdir(record: Extract<MetadataRecord, { type: 'rmdir' }>): void {
    this.dirAt(record.path);
    if (record.path === ROOT) throw new MetadataError('bad-record', 'the root cannot be removed');
    if (!this.namespace.children(record.path).next().done) throw new MetadataError('not-empty', `${record.path} is not empty`);
    this.namespace.delete(record.path);
  }

  private applyCreate(record: Extract<MetadataRecord, { type: 'create' }>): void {
    this.mustBeFree(record.path);
    this.namespace.set(record.path, { kind: 'file', chunks: [] });
  }

  private applyAddChunk(record: Extract<MetadataRecord, { type: 'add-chunk' }>): void {
    const file = this.fileAt(record.path);
    this.mustBeNewHandle(record.handle);
    this.namespace.set(record.path, { kind: 'file', chunks: [...file.chunks, record.handle] });
    this.chunkMeta.set(record.handle, { version: 1, refs: 1 });
    this.nextHandle = record.handle + 1;
  }

  private applySetVersion(record: Extract<MetadataRecord, { type: 'set-version' }>): void {
    const meta = this.chunkAt(record.handle);
    if (record.version <= meta.version) {
      throw new MetadataError('bad-record', `chunk ${record.handle}: version ${record.version} is not above ${meta.version}`);
    }
    this.chunkMeta.set(record.handle, { ...meta, version: record.version });
    if (record.raisedOn) this.raises.set(record.handle, { version: record.version, servers: [...record.raisedOn] });
    else this.raises.delete(record.handle);
  }

  private applyDelete(record: Extract<MetadataRecord, { type: 'delete' }>): void {
    const file = this.fileAt(record.path);
    if (record.atMs <= this.lastDeletedAtMs) {
      throw new MetadataError('bad-record', `deletion time ${record.atMs} is not after the last one (${this.lastDeletedAtMs})`);
    }
    this.namespace.delete(record.path);
    this.namespace.set(childPath(parentOf(record.path)!, hiddenName(baseName(record.path), record.atMs)), file);
    this.lastDeletedAtMs = record.atMs;
  }

  private applyUndelete(record: Extract<MetadataRecord, { type: 'undelete' }>): void {
    const { file, original } = this.hiddenAt(record.hiddenPath);
    this.mustBeFree(original);
    this.namespace.delete(record.hiddenPath);
    this.namespace.set(original, file);
  }

  private applyReclaim(record: Extract<MetadataRecord, { type: 'reclaim' }>): void {
    const { file } = this.hiddenAt(record.hiddenPath);
    this.namespace.delete(record.hiddenPath);
    for (const h of file.chunks) this.unref(h);
  }

  private applyRename(record: Extract<MetadataRecord, { type: 'rename' }>): void {
    const moved = this.movable(record.from, record.to);
    for (const [path] of moved) this.namespace.delete(path);
    for (const [path, entry] of moved) this.namespace.set(record.to + path.slice(record.from.length), entry);
  }

  private applySnapshot(record: Extract<MetadataRecord, { type: 'snapshot' }>): void {
    const copied = this.movable(record.source, record.target).filter(([path]) => !parseHiddenName(baseName(path)));
    for (const [path, entry] of copied) {
      this.namespace.set(record.target + path.slice(record.source.length), entry);
      if (entry.kind === 'file') for (const h of entry.chunks) this.chunkMeta.get(h)!.refs++;
    }
  }

  private applyCopyOnWrite(record: Extract<MetadataRecord, { type: 'copy-on-write' }>): void {
    const file = this.fileAt(record.path);
    const old = file.chunks[record.index];
    if (old === undefined) throw new MetadataError('not-found', `${record.path} has no chunk ${record.index}`);
    const meta = this.chunkMeta.get(old)!;
    if (meta.refs < 2) throw new MetadataError('bad-record', `chunk ${old} of ${record.path} is not shared`);
    this.mustBeNewHandle(record.handle);
    const chunks = [...file.chunks];
    chunks[record.index] = record.handle;
    this.namespace.set(record.path, { kind: 'file', chunks });
    this.chunkMeta.set(record.handle, { version: meta.version, refs: 1 });
    this.nextHandle = record.handle + 1;
    meta.refs--;
  }

  checkpoint(rowsPerPiece: number): CheckpointPiece[] {
    const namespace = [...this.namespace.entries()].filter(([p]) => p !== ROOT);
    const chunks = [...this.chunkMeta].map(([h, m]): [ChunkHandle, number, number] => [h, m.version, m.refs]);
    return [
      { type: 'header', nextHandle: this.nextHandle, lastDeletedAtMs: this.lastDeletedAtMs, namespaceRows: namespace.length, chunkRows: chunks.length },
      ...inPieces(namespace, rowsPerPiece).map((rows) => ({ type: 'namespace' as const, rows })),
      ...inPieces(chunks, rowsPerPiece).map((rows) => ({ type: 'chunks' as const, rows })),
    ];
  }

  /** Rebuilds metadata from a checkpoint's pieces, in order; a missing or foreign piece is an error. */
  static restore(pieces: Iterable<CheckpointPiece>): MasterMetadata {
    const m = new MasterMetadata();
    let header: Extract<CheckpointPiece, { type: 'header' }> | undefined;
    let namespaceRows = 0;
    let chunkRows = 0;
    for (const piece of pieces) {
      switch (piece.type) {
        case 'header':
          if (header) throw new MetadataError('bad-record', 'checkpoint has two headers');
          header = piece;
          m.nextHandle = piece.nextHandle;
          m.lastDeletedAtMs = piece.lastDeletedAtMs;
          break;
        case 'namespace':
          // depth-first order: a directory comes before its subtree, so parents exist when children land
          for (const [path, entry] of piece.rows) m.namespace.set(path, entry);
          namespaceRows += piece.rows.length;
          break;
        case 'chunks':
          for (const [h, version, refs] of piece.rows) m.chunkMeta.set(h, { version, refs });
          chunkRows += piece.rows.length;
          break;
        default: {
          const never: never = piece;
          throw new MetadataError('bad-record', `unknown checkpoint piece ${JSON.stringify(never)}`);
        }
      }
    }
    if (!header) throw new MetadataError('bad-record', 'checkpoint has no header');
    if (namespaceRows !== header.namespaceRows || chunkRows !== header.chunkRows) {
      throw new MetadataError(
        'bad-record',
        `checkpoint incomplete: ${namespaceRows}/${header.namespaceRows} namespace rows, ${chunkRows}/${header.chunkRows} chunk rows`,
      );
    }
    return m;
  }

  /** Everything, in a canonical order: two metadata with equal dumps are equal. */
  dump(): { nextHandle: number; lastDeletedAtMs: number; namespace: Array<[string, Entry]>; chunks: Array<[ChunkHandle, ChunkMeta]> } {
    return {
      nextHandle: this.nextHandle,
      lastDeletedAtMs: this.lastDeletedAtMs,
      namespace: [...this.namespace.entries()].map(([p, e]) => [p, structuredClone(e)]),
      chunks: [...this.chunkMeta].sort(([a], [b]) => a - b).map(([h, m]) => [h, { ...m }]),
    };
  }

  private dirAt(path: string): void {
    const e = this.namespace.get(path);
    if (!e) throw new MetadataError('not-found', `${path} does not exist`);
    if (e.kind !== 'dir') throw new MetadataError('not-a-directory', `${path} is not a directory`);
  }

  private fileAt(path: string): Extract<Entry, { kind: 'file' }> {
    const e = this.namespace.get(path);
    if (!e) throw new MetadataError('not-found', `${path} does not exist`);
    if (e.kind !== 'file') throw new MetadataError('not-a-file', `${path} is a directory`);
    return e;
  }

  private chunkAt(handle: ChunkHandle): ChunkMeta {
    const meta = this.chunkMeta.get(handle);
    if (!meta) throw new MetadataError('not-found', `chunk ${handle} is unknown`);
    return meta;
  }

  private hiddenAt(hiddenPath: string): { file: Extract<Entry, { kind: 'file' }>; original: string } {
    const hidden = parseHiddenName(baseName(hiddenPath));
    if (!hidden) throw new MetadataError('bad-record', `${hiddenPath} is not a deleted file's name`);
    return { file: this.fileAt(hiddenPath), original: childPath(parentOf(hiddenPath)!, hidden.name) };
  }

  /** A path can be made: it does not exist and its parent is a directory. */
  private mustBeFree(path: string): void {
    if (path === ROOT || this.namespace.has(path)) throw new MetadataError('exists', `${path} already exists`);
    this.dirAt(parentOf(path)!);
  }

  private mustBeNewHandle(handle: ChunkHandle): void {
    if (handle < this.nextHandle) throw new MetadataError('bad-record', `chunk handle ${handle} was already given out (next is ${this.nextHandle})`);
  }

  /** The entry at `from` and its subtree, checked movable to `to` (rename and snapshot). */
  private movable(from: string, to: string): Array<[string, Entry]> {
    const entry = this.namespace.get(from);
    if (!entry) throw new MetadataError('not-found', `${from} does not exist`);
    if (from === ROOT) throw new MetadataError('bad-record', 'the root cannot be moved or copied');
    if (isWithin(to, from)) throw new MetadataError('bad-record', `${to} lies within ${from}`);
    this.mustBeFree(to);
    return [[from, entry], ...(entry.kind === 'dir' ? this.namespace.subtree(from) : [])];
  }

  private unref(handle: ChunkHandle): void {
    const meta = this.chunkMeta.get(handle)!;
    if (--meta.refs === 0) this.chunkMeta.delete(handle);
  }
}

function inPieces<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
