import { crc32 } from 'node:zlib';

/**
 * The format of an appended record, and the reader that finds records in chunk data. Record
 * append is at least once: a chunk can hold padding (zeros, where a record would have crossed
 * the chunk's end), torn or partial records (a failed append on some replica) and duplicates (a
 * retried append). So each record carries a magic, its lengths, an id and a CRC-32 over all of
 * them, and the reader skips what does not check and returns each id once.
 *
 *   magic "GFSR" | id length u16 | payload length u32 | crc u32 | id (UTF-8) | payload
 *
 * The CRC covers the two lengths, the id and the payload, so a damaged length cannot send the
 * reader off the end of a record.
 */
const MAGIC = Uint8Array.of(0x47, 0x46, 0x53, 0x52);
export const RECORD_HEADER_BYTES = 14;
export const MAX_RECORD_ID_BYTES = 255;

export class RecordTooLargeError extends Error {
  constructor(
    readonly recordBytes: number,
    readonly maxRecordBytes: number,
  ) {
    super(`record of ${recordBytes} bytes (with its header and id) is over the limit of ${maxRecordBytes} bytes (at most a quarter of a chunk)`);
    this.name = 'RecordTooLargeError';
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Encodes a record; refuses one over maxRecordBytes in all (the chunk a quarter of which is the limit). */
export function encodeRecord(id: string, payload: Uint8Array, maxRecordBytes: number): Uint8Array {
  const idBytes = utf8.encode(id);
  if (idBytes.length === 0 || idBytes.length > MAX_RECORD_ID_BYTES) {
    throw new RangeError(`record id must be 1 to ${MAX_RECORD_ID_BYTES} bytes of UTF-8 (got ${idBytes.length})`);
  }
  const total = RECORD_HEADER_BYTES + idBytes.length + payload.length;
  if (total > maxRecordBytes) throw new RecordTooLargeError(total, maxRecordBytes);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(4, idBytes.length);
  view.setUint32(6, payload.length);
  out.set(idBytes, RECORD_HEADER_BYTES);
  out.set(payload, RECORD_HEADER_BYTES + idBytes.length);
  view.setUint32(10, checksum(out, total));
  return out;
}

function checksum(record: Uint8Array, total: number): number {
  return crc32(record.subarray(RECORD_HEADER_BYTES, total), crc32(record.subarray(4, 10)));
}

export interface FoundRecord {
  id: string;
  payload: Uint8Array;
  chunkIndex: number;
  /** Where the record starts in its chunk (what the append returned). */
  offset: number;
}

export interface ReaderStats {
  records: number;
  duplicates: number;
  /** Zero bytes skipped (padding). */
  paddingBytes: number;
  /** Other bytes skipped (torn, partial or damaged records). */
  garbageBytes: number;
}

/**
 * Reads records chunk by chunk, in file order. Remembers the ids of the last `dedupWindow`
 * records to drop duplicates: a retried append lands soon after the first, so a duplicate
 * further apart than that would be returned again (the bound keeps the reader's memory fixed).
 */
export class RecordReader {
  readonly stats: ReaderStats = { records: 0, duplicates: 0, paddingBytes: 0, garbageBytes: 0 };
  private readonly seen = new Set<string>();

  constructor(private readonly dedupWindow: number) {}

  *read(chunk: Uint8Array, chunkIndex: number): Generator<FoundRecord> {
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < chunk.length) {
      const end = recordEndAt(chunk, view, pos);
      if (end === undefined) {
        const next = nextMagic(chunk, pos + 1);
        this.skipped(chunk.subarray(pos, next));
        pos = next;
        continue;
      }
      const idLength = view.getUint16(pos + 4);
      const id = utf8Decoder.decode(chunk.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + idLength));
      const found = { id, payload: chunk.subarray(pos + RECORD_HEADER_BYTES + idLength, end), chunkIndex, offset: pos };
      pos = end;
      if (this.seen.has(id)) {
        this.stats.duplicates++;
        continue;
      }
      this.remember(id);
      this.stats.records++;
      yield found;
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.dedupWindow) this.seen.delete(this.seen.values().next().value!);
  }

  private skipped(bytes: Uint8Array): void {
    let zeros = 0;
    for (const b of bytes) if (b === 0) zeros++;
    this.stats.paddingBytes += zeros;
    this.stats.garbageBytes += bytes.length - zeros;
  }
}

/** The end of an intact record starting at pos, or undefined when none starts there. */
function recordEndAt(chunk: Uint8Array, view: DataView, pos: number): number | undefined {
  if (pos + RECORD_HEADER_BYTES > chunk.length) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (chunk[pos + i] !== MAGIC[i]) return undefined;
  const idLength = view.getUint16(pos + 4);
  const end = pos + RECORD_HEADER_BYTES + idLength + view.getUint32(pos + 6);
  if (idLength === 0 || idLength > MAX_RECORD_ID_BYTES || end > chunk.length) return undefined;
  const record = chunk.subarray(pos, end);
  return checksum(record, record.length) === view.getUint32(pos + 10) ? end : undefined;
}

function nextMagic(chunk: Uint8Array, from: number): number {
  const i = chunk.indexOf(MAGIC[0]!, from);
  return i < 0 ? chunk.length : i;
}
