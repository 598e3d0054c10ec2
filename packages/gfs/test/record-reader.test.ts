import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { encodeRecord, RecordReader, RecordTooLargeError, RECORD_HEADER_BYTES } from '../src/append/record.ts';

const CHUNK = 4096;
const MAX = CHUNK / 4;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Lays byte pieces into a zeroed chunk (zeros are padding); returns the chunk and each piece's offset. */
function chunkOf(pieces: Uint8Array[]): { chunk: Uint8Array; offsets: number[] } {
  const chunk = new Uint8Array(CHUNK);
  const offsets: number[] = [];
  let pos = 0;
  for (const p of pieces) {
    offsets.push(pos);
    chunk.set(p, pos);
    pos += p.length;
  }
  return { chunk, offsets };
}

function readAll(chunks: Uint8Array[], window = 1000): { records: Array<{ id: string; text: string; chunkIndex: number; offset: number }>; reader: RecordReader } {
  const reader = new RecordReader(window);
  const records = chunks.flatMap((c, i) => [...reader.read(c, i)].map((r) => ({ id: r.id, text: new TextDecoder().decode(r.payload), chunkIndex: r.chunkIndex, offset: r.offset })));
  return { records, reader };
}

describe('record append format and reader', () => {
  it('records come back with their ids at the offsets they landed, and the padding after them is skipped', () => {
    const { chunk, offsets } = chunkOf([encodeRecord('a', text('alpha'), MAX), encodeRecord('b', text('beta'), MAX), new Uint8Array(100), encodeRecord('c', text(''), MAX)]);
    const { records, reader } = readAll([chunk]);
    expect(records).toEqual([
      { id: 'a', text: 'alpha', chunkIndex: 0, offset: offsets[0] },
      { id: 'b', text: 'beta', chunkIndex: 0, offset: offsets[1] },
      { id: 'c', text: '', chunkIndex: 0, offset: offsets[3] },
    ]);
    expect(reader.stats).toMatchObject({ records: 3, duplicates: 0, garbageBytes: 0 });
    expect(reader.stats.paddingBytes).toBe(100 + CHUNK - (offsets[3]! + RECORD_HEADER_BYTES + 1));
  });

  it('a torn record (cut short by a failed append) is skipped and the records after it are found', () => {
    const torn = encodeRecord('t', text('x'.repeat(300)), MAX).subarray(0, 200);
    const { chunk } = chunkOf([encodeRecord('a', text('one'), MAX), torn, encodeRecord('b', text('two'), MAX)]);
    // and one cut by the chunk's end
    const last = encodeRecord('z', text('end'), MAX);
    chunk.set(last.subarray(0, 10), CHUNK - 10);
    const { records, reader } = readAll([chunk]);
    expect(records.map((r) => r.id)).toEqual(['a', 'b']);
    expect(reader.stats.garbageBytes).toBeGreaterThan(0);
  });

  it('a record with a damaged byte anywhere (header, id or payload) is dropped, its neighbours kept', () => {
    const one = encodeRecord('victim', text('payload!'), MAX);
    for (let at = 4; at < one.length; at++) {
      const bad = Uint8Array.from(one);
      bad[at]! ^= 0x10;
      const { chunk } = chunkOf([encodeRecord('a', text('1'), MAX), bad, encodeRecord('b', text('2'), MAX)]);
      expect({ at, ids: readAll([chunk]).records.map((r) => r.id) }).toEqual({ at, ids: ['a', 'b'] });
    }
  });

  it('a duplicate (same id, from a retried append) is returned once, in the same chunk or a later one', () => {
    const rec = encodeRecord('client1:7', text('hello'), MAX);
    const { chunk: c0 } = chunkOf([rec, encodeRecord('x', text('x'), MAX), rec]);
    const { chunk: c1 } = chunkOf([rec, encodeRecord('y', text('y'), MAX)]);
    const { records, reader } = readAll([c0, c1]);
    expect(records.map((r) => r.id)).toEqual(['client1:7', 'x', 'y']);
    expect(reader.stats.duplicates).toBe(2);
  });

  it('the reader remembers a bounded window of ids: a duplicate further back than the window comes again', () => {
    const ids = ['a', 'b', 'c', 'a'];
    const { chunk } = chunkOf(ids.map((id) => encodeRecord(id, text(id), MAX)));
    expect(readAll([chunk], 2).records.map((r) => r.id)).toEqual(['a', 'b', 'c', 'a']);
    expect(readAll([chunk], 3).records.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('a record over a quarter of the chunk size is refused with a clear error; one at the limit is taken', () => {
    const fits = MAX - RECORD_HEADER_BYTES - 1;
    expect(encodeRecord('r', new Uint8Array(fits), MAX)).toHaveLength(MAX);
    expect(() => encodeRecord('r', new Uint8Array(fits + 1), MAX)).toThrow(RecordTooLargeError);
    expect(() => encodeRecord('r', new Uint8Array(fits + 1), MAX)).toThrow(/record of 1025 bytes .* over the limit of 1024 bytes/);
    expect(() => encodeRecord('', text('x'), MAX)).toThrow(/record id must be 1 to 255 bytes/);
  });

  it('random chunks of records, padding, torn records, garbage and duplicates read back as exactly the intact records, each once', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rand = seededRandom(seed);
      const chunks: Uint8Array[] = [];
      const expected: string[] = [];
      const seen = new Set<string>();
      let n = 0;
      for (let c = 0; c < 3; c++) {
        const chunk = new Uint8Array(CHUNK);
        let pos = 0;
        for (;;) {
          const r = rand();
          let piece: Uint8Array;
          let id: string | undefined;
          if (r < 0.6 || seen.size === 0) {
            id = `w${Math.floor(rand() * 4)}:${n++}`;
            piece = encodeRecord(id, Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)), MAX);
          } else if (r < 0.75) {
            id = [...seen][Math.floor(rand() * seen.size)]!; // a retried append
            piece = encodeRecord(id, text(`dup of ${id}`), MAX);
          } else if (r < 0.85) {
            piece = encodeRecord(`torn${n++}`, new Uint8Array(100).fill(7), MAX).subarray(0, 1 + Math.floor(rand() * 110));
          } else if (r < 0.93) {
            piece = Uint8Array.from({ length: Math.floor(rand() * 50) }, () => Math.floor(rand() * 256));
          } else {
            piece = new Uint8Array(Math.floor(rand() * 200)); // padding
          }
          if (pos + piece.length > CHUNK) break; // the rest of the chunk stays padding
          chunk.set(piece, pos);
          pos += piece.length;
          if (id !== undefined && !seen.has(id)) {
            seen.add(id);
            expected.push(id);
          }
        }
        chunks.push(chunk);
      }
      const got = readAll(chunks, 10_000).records.map((r) => r.id);
      expect({ seed, got }).toEqual({ seed, got: expected });
    }
  });
});
