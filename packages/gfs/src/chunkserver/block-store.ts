import { crc32 } from 'node:zlib';
import type { ActorStorage } from '@actorfs/actors';
import type { ChunkHandle } from '../master/records.ts';

/**
 * What the block store needs of storage: the get/put/delete/range part of `ctx.storage`. A
 * storage domain of its own can provide the same later, without changes here.
 */
export type BlockStorage = Pick<ActorStorage, 'get' | 'put' | 'delete' | 'range'>;

export interface ChunkInfo {
  version: number;
  lengthBytes: number;
}

interface StoredBlock {
  crc: number;
  data: Uint8Array;
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

/**
 * Chunks stored as fixed-size blocks, each with its CRC-32, verified on every read before data
 * leaves. A write that changes part of a block verifies the block first (else a corrupt block
 * would get a fresh, matching checksum and the damage would be hidden); a write that only extends
 * a block's end extends its checksum incrementally without reading it back, as the paper does
 * for appends (damage there shows at the next read). Versions and lengths are kept per chunk.
 */
export class ChunkBlockStore {
  constructor(
    private readonly storage: BlockStorage,
    private readonly sizes: { blockSizeBytes: number; chunkSizeBytes: number },
  ) {}

  create(handle: ChunkHandle, version: number): void {
    if (this.info(handle)) throw new ChunkStoreError(handle, 'already exists');
    this.storage.put([CHUNK, handle], { version, lengthBytes: 0 } satisfies ChunkInfo);
  }

  info(handle: ChunkHandle): ChunkInfo | undefined {
    return this.storage.get<ChunkInfo>([CHUNK, handle]);
  }

  /** Every chunk held, in handle order (a heartbeat's report). */
  list(): Array<{ handle: ChunkHandle } & ChunkInfo> {
    return this.storage
      .range<ChunkInfo>({ start: [CHUNK], end: [`${CHUNK}\u0000`] })
      .map(({ key, value }) => ({ handle: key[1] as ChunkHandle, ...value }));
  }

  setVersion(handle: ChunkHandle, version: number): void {
    const info = this.mustExist(handle);
    if (version < info.version) throw new ChunkStoreError(handle, `version ${version} is older than the stored ${info.version}`);
    this.storage.put([CHUNK, handle], { ...info, version });
  }

  write(handle: ChunkHandle, offset: number, data: Uint8Array): void {
    const info = this.mustExist(handle);
    if (!(data instanceof Uint8Array)) throw new ChunkStoreError(handle, 'write data must be bytes (a Uint8Array)');
    const end = offset + data.length;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new ChunkStoreError(handle, `bad offset ${offset}`);
    if (end > this.sizes.chunkSizeBytes) throw new ChunkStoreError(handle, `write of [${offset}, ${end}) crosses the chunk's end at ${this.sizes.chunkSizeBytes}`);
    const bs = this.sizes.blockSizeBytes;
    // a write past the end leaves a hole: whole blocks before the written one are zero-filled
    // (the written block fills its own gap)
    for (let block = Math.floor(info.lengthBytes / bs); block < Math.floor(offset / bs); block++) this.writeBlock(handle, block, bs, new Uint8Array(0));
    for (let block = Math.floor(offset / bs); block * bs < end; block++) {
      const blockStart = block * bs;
      const from = Math.max(offset, blockStart) - blockStart;
      const piece = data.subarray(Math.max(offset, blockStart) - offset, Math.min(end, blockStart + bs) - offset);
      this.writeBlock(handle, block, from, piece);
    }
    if (end > info.lengthBytes) this.storage.put([CHUNK, handle], { ...info, lengthBytes: end });
  }

  /** Bytes [offset, offset + length), every block they touch verified first. */
  read(handle: ChunkHandle, offset: number, length: number): Uint8Array {
    const info = this.mustExist(handle);
    const end = offset + length;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ChunkStoreError(handle, `bad range: offset ${offset}, length ${length}`);
    }
    if (end > info.lengthBytes) throw new ChunkStoreError(handle, `read of [${offset}, ${end}) past its end at ${info.lengthBytes}`);
    const out = new Uint8Array(length);
    const bs = this.sizes.blockSizeBytes;
    for (let block = Math.floor(offset / bs); block * bs < end; block++) {
      const data = this.verifiedBlock(handle, block, Math.min(bs, info.lengthBytes - block * bs));
      const blockStart = block * bs;
      const from = Math.max(offset, blockStart);
      out.set(data.subarray(from - blockStart, Math.min(end, blockStart + bs) - blockStart), from - offset);
    }
    return out;
  }

  /** The blocks whose checksum fails (an idle-time scan, which finds damage in rarely read chunks). */
  scan(handle: ChunkHandle): number[] {
    const info = this.mustExist(handle);
    const bad: number[] = [];
    const bs = this.sizes.blockSizeBytes;
    for (let block = 0; block * bs < info.lengthBytes; block++) {
      try {
        this.verifiedBlock(handle, block, Math.min(bs, info.lengthBytes - block * bs));
      } catch (err) {
        if (!(err instanceof ChecksumError)) throw err;
        bad.push(block);
      }
    }
    return bad;
  }

  /** A local copy of a chunk under a new handle (copy-on-write after a snapshot); every block is verified on the way. */
  copy(from: ChunkHandle, to: ChunkHandle, version: number): void {
    const info = this.mustExist(from);
    if (this.info(to)) throw new ChunkStoreError(to, 'already exists');
    const bs = this.sizes.blockSizeBytes;
    for (let block = 0; block * bs < info.lengthBytes; block++) {
      const data = this.verifiedBlock(from, block, Math.min(bs, info.lengthBytes - block * bs));
      this.storage.put([BLOCK, to, block], { crc: crc32(data), data } satisfies StoredBlock);
    }
    this.storage.put([CHUNK, to], { version, lengthBytes: info.lengthBytes } satisfies ChunkInfo);
  }

  delete(handle: ChunkHandle): void {
    for (const { key } of this.storage.range({ start: [BLOCK, handle], end: [BLOCK, handle + 1] })) this.storage.delete(key);
    this.storage.delete([CHUNK, handle]);
  }

  private writeBlock(handle: ChunkHandle, block: number, from: number, piece: Uint8Array): void {
    const old = this.storage.get<StoredBlock>([BLOCK, handle, block]);
    const oldLength = old?.data.length ?? 0;
    let next: StoredBlock;
    if (from >= oldLength) {
      // extends the block (across a zero-filled gap if the write starts past its end)
      const tail = new Uint8Array(from - oldLength + piece.length);
      tail.set(piece, from - oldLength);
      const data = new Uint8Array(oldLength + tail.length);
      if (old) data.set(old.data);
      data.set(tail, oldLength);
      next = { crc: crc32(tail, old?.crc ?? 0), data };
    } else {
      const current = this.verifiedBlock(handle, block, oldLength);
      const data = new Uint8Array(Math.max(oldLength, from + piece.length));
      data.set(current);
      data.set(piece, from);
      next = { crc: crc32(data), data };
    }
    this.storage.put([BLOCK, handle, block], next);
  }

  private verifiedBlock(handle: ChunkHandle, block: number, expectedLength: number): Uint8Array {
    const stored = this.storage.get<StoredBlock>([BLOCK, handle, block]);
    if (!stored || !(stored.data instanceof Uint8Array) || typeof stored.crc !== 'number') {
      throw new ChecksumError(handle, block, 'missing or malformed on disk');
    }
    if (stored.data.length !== expectedLength) {
      throw new ChecksumError(handle, block, `holds ${stored.data.length} bytes, expected ${expectedLength}`);
    }
    const crc = crc32(stored.data);
    if (crc !== stored.crc) throw new ChecksumError(handle, block, `checksum mismatch (stored ${stored.crc}, computed ${crc})`);
    return stored.data;
  }

  private mustExist(handle: ChunkHandle): ChunkInfo {
    const info = this.info(handle);
    if (!info) throw new ChunkStoreError(handle, 'unknown chunk');
    return info;
  }
}
