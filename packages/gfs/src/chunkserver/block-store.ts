import { crc32 } from 'node:zlib';
import { FramedBytes, type ActorStorage } from '@actorfs/actors';
import type { ChunkHandle } from '../master/records.ts';

/** What the block store needs of storage: part of `ctx.storage` (or of a storage domain). */
export type BlockStorage = Pick<ActorStorage, 'get' | 'peek' | 'put' | 'putBytes' | 'putFramed' | 'delete' | 'range' | 'flushed'>;
/** Where raised versions live: a small domain whose commits do not queue behind bulk data. */
export type VersionStorage = Pick<ActorStorage, 'get' | 'put' | 'delete' | 'range' | 'flushed'>;

export interface ChunkInfo {
  version: number;
  lengthBytes: number;
}

/**
 * A chunk's record beside its data. Each creation or copy of a chunk is a new incarnation: a
 * version record of an earlier one (its delete not synced before a crash) is not this one's.
 */
interface ChunkRecord extends ChunkInfo {
  incarnation?: number;
}

/** A version raised apart from the data, for one incarnation of the chunk. */
interface VersionRecord {
  version: number;
  incarnation: number;
}

/**
 * A block as stored: its data followed by the data's CRC-32 (4 bytes, big-endian). One flat value,
 * so a write copies the data once into it and a read verifies it where it lies.
 */
const CRC_BYTES = 4;

export interface StoredBlock {
  crc: number;
  /** A view into the stored value. */
  data: Uint8Array;
}

/** The stored value of a block: data then its CRC-32. */
export function packBlock(data: Uint8Array, crc: number): Uint8Array {
  const value = new Uint8Array(data.length + CRC_BYTES);
  value.set(data);
  setCrc(value, crc);
  return value;
}

/** A stored value read back as data and CRC-32; undefined if it cannot be one. */
export function unpackBlock(value: unknown): StoredBlock | undefined {
  if (!(value instanceof Uint8Array) || value.length < CRC_BYTES) return undefined;
  const end = value.length - CRC_BYTES;
  return { data: value.subarray(0, end), crc: new DataView(value.buffer, value.byteOffset + end, CRC_BYTES).getUint32(0) };
}

function setCrc(value: Uint8Array, crc: number): void {
  new DataView(value.buffer, value.byteOffset + value.length - CRC_BYTES, CRC_BYTES).setUint32(0, crc);
}

/** Stored values made ahead of their write, by the data view prepareBlocks returned for each. */
const prepared = new WeakMap<Uint8Array, FramedBytes>();

/**
 * Copies data into stored values of blockSizeBytes each (the last may be shorter), as pushed data
 * arrives; returns their data views, in order. A write whose block is exactly one of them (a
 * block-aligned write of whole blocks) adds its CRC-32 and stores it as it is, with no copy.
 */
export function prepareBlocks(data: Uint8Array, blockSizeBytes: number): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += blockSizeBytes) {
    const part = data.subarray(at, at + blockSizeBytes);
    const framed = new FramedBytes(part.length + CRC_BYTES);
    framed.body.set(part);
    const view = framed.body.subarray(0, part.length);
    prepared.set(view, framed);
    views.push(view);
  }
  return views;
}

/** The prepared value whose data is exactly bytes [from, to) of data, if there is one. */
function preparedExactly(data: WriteData, from: number, to: number): FramedBytes | undefined {
  if (data instanceof Uint8Array) return from === 0 && to === data.length ? prepared.get(data) : undefined;
  let start = 0;
  for (const piece of data) {
    if (start === from) return start + piece.length === to ? prepared.get(piece) : undefined;
    if (start > from) return undefined;
    start += piece.length;
  }
  return undefined;
}

/** Data to write: one array, or pieces in order (pushed data as it arrived, not joined first). */
export type WriteData = Uint8Array | readonly Uint8Array[];

function byteLength(data: WriteData): number {
  if (data instanceof Uint8Array) return data.length;
  let n = 0;
  for (const piece of data) n += piece.length;
  return n;
}

/** Copies bytes [from, to) of data into target at `at`. */
function copyRange(data: WriteData, from: number, to: number, target: Uint8Array, at: number): void {
  if (data instanceof Uint8Array) return target.set(data.subarray(from, to), at);
  let start = 0;
  for (const piece of data) {
    const end = start + piece.length;
    if (end > from && start < to) target.set(piece.subarray(Math.max(from, start) - start, Math.min(to, end) - start), at + Math.max(from, start) - from);
    if (end >= to) return;
    start = end;
  }
}

/** A creation's record, unless the record beside the data is of the same incarnation or a newer one. */
function newer(created: ChunkRecord, stored: ChunkRecord | undefined): ChunkRecord {
  return stored && (stored.incarnation ?? 0) >= (created.incarnation ?? 0) ? stored : created;
}

export class ChecksumError extends Error {
  constructor(
    readonly handle: ChunkHandle,
    readonly block: number,
    detail: string,
  ) {
    super(`chunk ${handle} block ${block}: ${detail}`);
    this.name = 'ChecksumError';
  }
}

export class ChunkStoreError extends Error {
  constructor(
    readonly handle: ChunkHandle,
    detail: string,
  ) {
    super(`chunk ${handle}: ${detail}`);
    this.name = 'ChunkStoreError';
  }
}

const CHUNK = 'chunk';
const BLOCK = 'block';
const VERSION = 'version';
const LAST_INCARNATION = 'incarnation';
/** A new, empty chunk's record, in `versions` (see create). */
const CREATED = 'created';

/**
 * Chunks stored as fixed-size blocks, each with its CRC-32, verified on every read before data
 * leaves. A write that changes part of a block verifies the block first (else a corrupt block
 * would get a fresh, matching checksum and the damage would be hidden); a write that only extends
 * a block's end extends its checksum incrementally without reading it back, as the paper does
 * for appends (damage there shows at the next read). Versions and lengths are kept per chunk.
 *
 * A chunk's record (version and length) lies beside its data, so a version set there (at creation,
 * at the end of a copy) is durable with the blocks before it. A raised version goes to `versions`
 * instead, durable in one small commit rather than after every write queued before it; it is
 * stored only once the chunk's own earlier writes are synced, so it is never ahead of its data.
 * A new chunk has no data: its record goes to `versions` too, so its creation is durable without
 * waiting for bulk writes; its first write puts the record beside the data. Incarnations increase
 * across both (each stores the newest), so of a chunk's two records the newer incarnation is the chunk.
 */
export class ChunkBlockStore {
  /** Per chunk, the sync of its newest write (gone once synced). */
  private readonly unsynced = new Map<ChunkHandle, Promise<void>>();
  /** Raises waiting for their chunk's earlier writes to sync (seen by reads meanwhile). */
  private readonly raising = new Map<ChunkHandle, VersionRecord>();

  constructor(
    private readonly storage: BlockStorage,
    private readonly sizes: { blockSizeBytes: number; chunkSizeBytes: number },
    private readonly versions: VersionStorage = storage,
  ) {}

  /** A new, empty chunk, durable once `creationsDurable` resolves (no bulk write waits before it). */
  create(handle: ChunkHandle, version: number): void {
    if (this.info(handle)) throw new ChunkStoreError(handle, 'already exists');
    const record: ChunkRecord = { version, lengthBytes: 0, incarnation: this.newIncarnation(handle) };
    this.versions.put([CREATED, handle], record);
  }

  /** Resolves once every chunk created so far is durable. */
  creationsDurable(): Promise<void> {
    return this.versions.flushed();
  }

  info(handle: ChunkHandle): ChunkInfo | undefined {
    const record = this.recordOf(handle);
    return record && this.withRaise(record, this.raising.get(handle) ?? this.versions.get<VersionRecord>([VERSION, handle]));
  }

  /** Every chunk held, in handle order (a heartbeat's report). */
  list(): Array<{ handle: ChunkHandle } & ChunkInfo> {
    const byHandle = <T>(storage: VersionStorage, prefix: string): Map<ChunkHandle, T> =>
      new Map(storage.range<T>({ start: [prefix], end: [`${prefix}\u0000`] }).map(({ key, value }) => [key[1] as ChunkHandle, value]));
    const raised = byHandle<VersionRecord>(this.versions, VERSION);
    for (const [handle, raise] of this.raising) raised.set(handle, raise);
    const records = byHandle<ChunkRecord>(this.storage, CHUNK);
    for (const [handle, created] of byHandle<ChunkRecord>(this.versions, CREATED)) records.set(handle, newer(created, records.get(handle)));
    return [...records]
      .sort(([a], [b]) => a - b)
      .map(([handle, record]) => ({ handle, ...this.withRaise(record, raised.get(handle)) }));
  }

  /** Sets the version beside the data: durable with the writes before it (a finished copy's version). */
  setVersion(handle: ChunkHandle, version: number): void {
    const record = this.mustExist(handle);
    this.checkNotOlder(handle, version);
    this.putRecord(handle, { ...record, version });
  }

  /**
   * Raises the version (a lease grant's): seen at once; stored in `versions` once every earlier
   * write of the chunk is synced. Resolves with true once the raise is durable, false if the chunk
   * was deleted, copied anew or raised again meanwhile (the later change answers for itself).
   */
  raiseVersion(handle: ChunkHandle, version: number): Promise<boolean> {
    const record = this.mustExist(handle);
    this.checkNotOlder(handle, version);
    const raise: VersionRecord = { version, incarnation: record.incarnation ?? 0 };
    this.raising.set(handle, raise);
    const store = async (): Promise<boolean> => {
      if (this.raising.get(handle) !== raise) return false;
      this.raising.delete(handle);
      this.versions.put([VERSION, handle], raise);
      await this.versions.flushed();
      return true;
    };
    const earlier = this.unsynced.get(handle);
    return earlier ? earlier.then(store) : store();
  }

  write(handle: ChunkHandle, offset: number, data: WriteData): void {
    const info = this.mustExist(handle);
    if (!(data instanceof Uint8Array || (Array.isArray(data) && data.every((p) => p instanceof Uint8Array)))) {
      throw new ChunkStoreError(handle, 'write data must be bytes (a Uint8Array, or an array of them)');
    }
    const end = offset + byteLength(data);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new ChunkStoreError(handle, `bad offset ${offset}`);
    if (end > this.sizes.chunkSizeBytes) throw new ChunkStoreError(handle, `write of [${offset}, ${end}) crosses the chunk's end at ${this.sizes.chunkSizeBytes}`);
    const bs = this.sizes.blockSizeBytes;
    // a write past the end leaves a hole: whole blocks before the written one are zero-filled
    // (the written block fills its own gap)
    for (let block = Math.floor(info.lengthBytes / bs); block < Math.floor(offset / bs); block++) this.writeBlock(handle, block, bs, [], 0, 0);
    for (let block = Math.floor(offset / bs); block * bs < end; block++) {
      const blockStart = block * bs;
      const from = Math.max(offset, blockStart);
      this.writeBlock(handle, block, from - blockStart, data, from - offset, Math.min(end, blockStart + bs) - offset);
    }
    if (end > info.lengthBytes) this.putRecord(handle, { ...info, lengthBytes: end });
    else this.wrote(handle);
  }

  /**
   * Bytes [offset, offset + length) in one array spanning a buffer of its own (a transport can
   * move it as it is), every block they touch verified first.
   */
  read(handle: ChunkHandle, offset: number, length: number): Uint8Array {
    // not zero-filled: the visits below write every byte of it, and it is dropped if one throws
    const out = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
    this.eachBlockPart(handle, offset, length, (part, at) => out.set(part, at));
    return out;
  }

  /** Visits the part of each block in [offset, offset + length), verified where storage holds it (valid only during the visit), with its place in the range. */
  private eachBlockPart(handle: ChunkHandle, offset: number, length: number, visit: (part: Uint8Array, at: number) => void): void {
    const info = this.mustExist(handle);
    const end = offset + length;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ChunkStoreError(handle, `bad range: offset ${offset}, length ${length}`);
    }
    if (end > info.lengthBytes) throw new ChunkStoreError(handle, `read of [${offset}, ${end}) past its end at ${info.lengthBytes}`);
    const bs = this.sizes.blockSizeBytes;
    for (let block = Math.floor(offset / bs); block * bs < end; block++) {
      const blockStart = block * bs;
      const from = Math.max(offset, blockStart);
      this.withVerifiedBlock(handle, block, Math.min(bs, info.lengthBytes - blockStart), (data) =>
        visit(data.subarray(from - blockStart, Math.min(end, blockStart + bs) - blockStart), from - offset),
      );
    }
  }

  /** The blocks whose checksum fails (an idle-time scan, which finds damage in rarely read chunks). */
  scan(handle: ChunkHandle): number[] {
    const bad: number[] = [];
    this.eachBlock(this.mustExist(handle).lengthBytes, (block, length) => {
      try {
        this.withVerifiedBlock(handle, block, length, () => undefined);
      } catch (err) {
        if (!(err instanceof ChecksumError)) throw err;
        bad.push(block);
      }
    });
    return bad;
  }

  /** Each block's CRC-32, verified where it lies: two copies with equal lists hold the same bytes (up to CRC-32 collisions). */
  blockCrcs(handle: ChunkHandle): number[] {
    const crcs: number[] = [];
    this.eachBlock(this.mustExist(handle).lengthBytes, (block, length) => crcs.push(this.withVerifiedBlock(handle, block, length, (_, crc) => crc)));
    return crcs;
  }

  /** A local copy of a chunk under a new handle (copy-on-write after a snapshot); every block is verified on the way. */
  copy(from: ChunkHandle, to: ChunkHandle, version: number): void {
    const info = this.mustExist(from);
    if (this.info(to)) throw new ChunkStoreError(to, 'already exists');
    const incarnation = this.newIncarnation(to);
    this.eachBlock(info.lengthBytes, (block, length) =>
      this.withVerifiedBlock(from, block, length, (data, crc) =>
        this.storage.putBytes([BLOCK, to, block], data.length + CRC_BYTES, (value) => {
          value.set(data);
          setCrc(value, crc);
        }),
      ),
    );
    this.putRecord(to, { version, lengthBytes: info.lengthBytes, incarnation });
  }

  delete(handle: ChunkHandle): void {
    this.forgetVersions(handle);
    for (const { key } of this.storage.range({ start: [BLOCK, handle], end: [BLOCK, handle + 1] })) this.storage.delete(key);
    this.storage.delete([CHUNK, handle]);
    this.wrote(handle);
  }

  /** A record at its raised version if the raise is of the same incarnation and newer. */
  private withRaise(record: ChunkRecord, raise: VersionRecord | undefined): ChunkInfo {
    const version = raise && raise.incarnation === (record.incarnation ?? 0) && raise.version > record.version ? raise.version : record.version;
    return { version, lengthBytes: record.lengthBytes };
  }

  private checkNotOlder(handle: ChunkHandle, version: number): void {
    const current = this.info(handle)!.version;
    if (version < current) throw new ChunkStoreError(handle, `version ${version} is older than the stored ${current}`);
  }

  private putRecord(handle: ChunkHandle, record: ChunkRecord): void {
    this.storage.put([CHUNK, handle], record);
    this.wrote(handle);
  }

  /**
   * A fresh incarnation number, above every one stored in either place (stored with the new
   * record, in the same commit), and no raise or creation record of an older one.
   */
  private newIncarnation(handle: ChunkHandle): number {
    this.forgetVersions(handle);
    const incarnation = Math.max(this.storage.get<number>(LAST_INCARNATION) ?? 0, this.versions.get<number>(LAST_INCARNATION) ?? 0) + 1;
    this.storage.put(LAST_INCARNATION, incarnation);
    this.versions.put(LAST_INCARNATION, incarnation);
    return incarnation;
  }

  /** Forgets a raise and a creation record (the chunk is deleted or made anew). */
  private forgetVersions(handle: ChunkHandle): void {
    this.raising.delete(handle);
    this.versions.delete([VERSION, handle]);
    this.versions.delete([CREATED, handle]);
  }

  /** The chunk's record: beside its data, or its creation's if that is a newer incarnation. */
  private recordOf(handle: ChunkHandle): ChunkRecord | undefined {
    const created = this.versions.get<ChunkRecord>([CREATED, handle]);
    const stored = this.storage.get<ChunkRecord>([CHUNK, handle]);
    return created ? newer(created, stored) : stored;
  }

  /** The chunk's newest write so far: a raise waits for its sync. */
  private wrote(handle: ChunkHandle): void {
    const synced = this.storage.flushed();
    this.unsynced.set(handle, synced);
    const forget = (): void => {
      if (this.unsynced.get(handle) === synced) this.unsynced.delete(handle);
    };
    synced.then(forget, forget);
  }

  /** Writes bytes [dataFrom, dataTo) of data into the block at `from`, as one fresh stored value. */
  private writeBlock(handle: ChunkHandle, block: number, from: number, data: WriteData, dataFrom: number, dataTo: number): void {
    const key = [BLOCK, handle, block];
    this.storage.peek(key, (stored) => {
      const old = unpackBlock(stored);
      const oldLength = old?.data.length ?? 0;
      const length = Math.max(oldLength, from + dataTo - dataFrom);
      // a write inside the block's bytes verifies them first (a checksum over damage would hide it)
      if (old && from < oldLength) this.verify(handle, block, old, oldLength);
      // the whole block is one prepared value: stored as it is
      const whole = from === 0 && length === dataTo - dataFrom ? preparedExactly(data, dataFrom, dataTo) : undefined;
      if (whole) {
        setCrc(whole.body, crc32(whole.body.subarray(0, length)));
        return this.storage.putFramed(key, whole);
      }
      this.storage.putBytes(key, length + CRC_BYTES, (value) => {
        if (old) value.set(old.data);
        copyRange(data, dataFrom, dataTo, value, from);
        // extending the block (across a zero-filled gap if the write starts past its end) extends its checksum
        setCrc(value, from >= oldLength ? crc32(value.subarray(oldLength, length), old?.crc ?? 0) : crc32(value.subarray(0, length)));
      });
    });
  }

  /** Visits each block of a chunk of lengthBytes with its length (the last may be short). */
  private eachBlock(lengthBytes: number, visit: (block: number, length: number) => void): void {
    const bs = this.sizes.blockSizeBytes;
    for (let block = 0; block * bs < lengthBytes; block++) visit(block, Math.min(bs, lengthBytes - block * bs));
  }

  /** Runs `use` on the block's data, verified where storage holds it (valid only inside `use`, which must not read storage). */
  private withVerifiedBlock<R>(handle: ChunkHandle, block: number, expectedLength: number, use: (data: Uint8Array, crc: number) => R): R {
    return this.storage.peek([BLOCK, handle, block], (value) => {
      const stored = unpackBlock(value);
      if (!stored) throw new ChecksumError(handle, block, 'missing or malformed on disk');
      this.verify(handle, block, stored, expectedLength);
      return use(stored.data, stored.crc);
    });
  }

  private verify(handle: ChunkHandle, block: number, stored: StoredBlock, expectedLength: number): void {
    if (stored.data.length !== expectedLength) {
      throw new ChecksumError(handle, block, `holds ${stored.data.length} bytes, expected ${expectedLength}`);
    }
    const crc = crc32(stored.data);
    if (crc !== stored.crc) throw new ChecksumError(handle, block, `checksum mismatch (stored ${stored.crc}, computed ${crc})`);
  }

  /** The chunk's record (its version may have been raised since: see info). */
  private mustExist(handle: ChunkHandle): ChunkRecord {
    const record = this.recordOf(handle);
    if (!record) throw new ChunkStoreError(handle, 'unknown chunk');
    return record;
  }
}
