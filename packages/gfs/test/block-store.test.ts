import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem, LmdbStore, decode, encode, seededRandom, type ActorRef } from '@actorfs/actors';
import { packBlock, unpackBlock, type StoredBlock } from '../src/chunkserver/block-store.ts';
import { BlockHost, type BlockHostMsg } from './fixtures/block-host.ts';

// small blocks, so a few KiB cross many of them; bytes are compared with Buffer.equals (toEqual on buffers is slow)
const sizes = { blockSizeBytes: 1024, chunkSizeBytes: 64 * 1024 };
const HOST = 'bs';
const flip = (at: number, bit: number) => (stored: StoredBlock): StoredBlock => {
  stored.data[at]! ^= bit;
  return stored;
};

let dataDir: string;
let sys: ActorSystem;
let host: ActorRef<BlockHostMsg>;

async function start(): Promise<void> {
  sys = await ActorSystem.start({ dataDir });
  host = await sys.spawn(BlockHost, sizes, { name: HOST });
}

/** Stops the node, changes one stored block behind the store's back, starts the node again. */
async function tamperWithBlock(handle: number, block: number, change: (stored: StoredBlock) => StoredBlock): Promise<void> {
  await sys.shutdown();
  const store = LmdbStore.open(join(dataDir, 'main'));
  const key = [HOST, 'block', handle, block];
  const changed = change(unpackBlock(decode(store.get(key)!))!);
  await store.commit([[key, encode(packBlock(changed.data, changed.crc))]]);
  await store.close();
  await start();
}

function bytes(n: number, seed: number): Uint8Array {
  const rand = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** data cut at a few random places (pieces need not align with blocks; some may be empty) */
function cutInPieces(data: Uint8Array, rand: () => number): Uint8Array[] {
  const cuts = Array.from({ length: 3 }, () => Math.floor(rand() * data.length)).sort((a, b) => a - b);
  return [0, ...cuts].map((from, i) => data.subarray(from, [...cuts, data.length][i]));
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gfs-blocks-'));
  await start();
});

afterAll(async () => {
  await sys.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chunk block store on LMDB', () => {
  it('a chunk round-trips across blocks, and survives a restart with its version and length', async () => {
    const data = bytes(5000, 1);
    await sys.ask(host, { type: 'create', handle: 1, version: 3 });
    await sys.ask(host, { type: 'write', handle: 1, offset: 0, data });
    await sys.ask(host, { type: 'set-version', handle: 1, version: 4 });
    await sys.shutdown();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 1 })).toEqual({ version: 4, lengthBytes: 5000 });
    expect(Buffer.from(await sys.ask(host, { type: 'read', handle: 1, offset: 0, length: 5000 })).equals(data)).toBe(true);
    expect(Buffer.from(await sys.ask(host, { type: 'read', handle: 1, offset: 1000, length: 100 })).equals(data.subarray(1000, 1100))).toBe(true);
    expect(await sys.ask(host, { type: 'list' })).toContainEqual({ handle: 1, version: 4, lengthBytes: 5000 });
  });

  it('partial-block writes (read-modify-write of a block) keep every checksum right: random writes, whole or in pieces as pushed data arrives, match a plain array', async () => {
    const rand = seededRandom(2);
    const model = new Uint8Array(sizes.chunkSizeBytes);
    let length = 0;
    await sys.ask(host, { type: 'create', handle: 2, version: 1 });
    for (let i = 0; i < 60; i++) {
      // writes overlap what is there, extend it, or leave a hole past the end
      const offset = Math.floor(rand() * Math.min(sizes.chunkSizeBytes - 3000, length + 2500));
      const data = bytes(1 + Math.floor(rand() * 2500), 100 + i);
      await sys.ask(host, { type: 'write', handle: 2, offset, data: i % 2 === 0 ? data : cutInPieces(data, rand) });
      model.set(data, offset);
      length = Math.max(length, offset + data.length);
      const from = Math.floor(rand() * length);
      const n = Math.floor(rand() * (length - from));
      expect(Buffer.from(await sys.ask(host, { type: 'read', handle: 2, offset: from, length: n })).equals(model.subarray(from, from + n))).toBe(true);
    }
    expect(await sys.ask(host, { type: 'scan', handle: 2 })).toEqual([]);
    expect(Buffer.from(await sys.ask(host, { type: 'read', handle: 2, offset: 0, length })).equals(model.subarray(0, length))).toBe(true);
  });

  it('a flipped byte on disk is detected on read, naming the chunk and block, before any data leaves', async () => {
    await sys.ask(host, { type: 'create', handle: 7, version: 1 });
    await sys.ask(host, { type: 'write', handle: 7, offset: 0, data: bytes(3000, 3) });
    await tamperWithBlock(7, 1, flip(500, 0x01));
    await expect(sys.ask(host, { type: 'read', handle: 7, offset: 0, length: 3000 })).rejects.toThrow(/chunk 7 block 1: checksum mismatch/);
    await expect(sys.ask(host, { type: 'read', handle: 7, offset: 1500, length: 1 })).rejects.toThrow(/chunk 7 block 1/);
    // the good blocks still read
    expect((await sys.ask(host, { type: 'read', handle: 7, offset: 0, length: 1024 })).length).toBe(1024);
    expect((await sys.ask(host, { type: 'read', handle: 7, offset: 2048, length: 952 })).length).toBe(952);
    expect(await sys.ask(host, { type: 'scan', handle: 7 })).toEqual([1]);
  });

  it('a truncated block on disk is detected too', async () => {
    await sys.ask(host, { type: 'create', handle: 8, version: 1 });
    await sys.ask(host, { type: 'write', handle: 8, offset: 0, data: bytes(2048, 4) });
    await tamperWithBlock(8, 0, ({ crc, data }) => ({ crc, data: data.subarray(0, 1000) }));
    await expect(sys.ask(host, { type: 'read', handle: 8, offset: 0, length: 10 })).rejects.toThrow(/chunk 8 block 0: holds 1000 bytes, expected 1024/);
  });

  it('overwriting part of a corrupt block is refused (a fresh checksum would hide the damage); appending to it leaves the damage visible', async () => {
    await sys.ask(host, { type: 'create', handle: 9, version: 1 });
    await sys.ask(host, { type: 'write', handle: 9, offset: 0, data: bytes(500, 5) });
    await tamperWithBlock(9, 0, flip(10, 0x80));
    await expect(sys.ask(host, { type: 'write', handle: 9, offset: 100, data: bytes(10, 6) })).rejects.toThrow(/chunk 9 block 0: checksum mismatch/);
    // an append extends the checksum without reading the block back, as the paper's appends do
    await sys.ask(host, { type: 'write', handle: 9, offset: 500, data: bytes(100, 7) });
    await expect(sys.ask(host, { type: 'read', handle: 9, offset: 500, length: 100 })).rejects.toThrow(/chunk 9 block 0: checksum mismatch/);
  });

  it('bad requests get clear errors: an unknown chunk, a read past the end, a write across the chunk end', async () => {
    await sys.ask(host, { type: 'create', handle: 10, version: 1 });
    await sys.ask(host, { type: 'write', handle: 10, offset: 0, data: bytes(10, 8) });
    await expect(sys.ask(host, { type: 'read', handle: 99, offset: 0, length: 1 })).rejects.toThrow(/chunk 99: unknown chunk/);
    await expect(sys.ask(host, { type: 'read', handle: 10, offset: 5, length: 6 })).rejects.toThrow(/chunk 10: read of \[5, 11\) past its end at 10/);
    await expect(sys.ask(host, { type: 'write', handle: 10, offset: sizes.chunkSizeBytes - 1, data: bytes(2, 9) })).rejects.toThrow(/crosses the chunk's end/);
    await expect(sys.ask(host, { type: 'create', handle: 10, version: 1 })).rejects.toThrow(/chunk 10: already exists/);
    await expect(sys.ask(host, { type: 'set-version', handle: 10, version: 0 })).rejects.toThrow(/older than the stored 1/);
    await expect(sys.ask(host, { type: 'write', handle: 10, offset: 0, data: 'abc' as unknown as Uint8Array })).rejects.toThrow(/write data must be bytes/);
    // and the store goes on serving
    expect((await sys.ask(host, { type: 'read', handle: 10, offset: 0, length: 10 })).length).toBe(10);
  });

  it('a write past the end zero-fills the hole; delete removes every block', async () => {
    await sys.ask(host, { type: 'create', handle: 11, version: 1 });
    await sys.ask(host, { type: 'write', handle: 11, offset: 3000, data: Uint8Array.of(1, 2, 3) });
    const all = await sys.ask(host, { type: 'read', handle: 11, offset: 0, length: 3003 });
    expect(all.subarray(0, 3000).every((b) => b === 0)).toBe(true);
    expect([...all.subarray(3000)]).toEqual([1, 2, 3]);
    await sys.ask(host, { type: 'delete', handle: 11 });
    expect(await sys.ask(host, { type: 'info', handle: 11 })).toBeNull();
    await sys.shutdown();
    const store = LmdbStore.open(join(dataDir, 'main'));
    expect([...store.range({ start: [HOST, 'block', 11], end: [HOST, 'block', 12] })]).toEqual([]);
    await store.close();
    await start();
  });

  it('a raised version survives a restart, and belongs to one incarnation of the chunk: a raise left by a deleted copy is not the next copy\'s', async () => {
    await sys.ask(host, { type: 'create', handle: 12, version: 1 });
    await sys.ask(host, { type: 'write', handle: 12, offset: 0, data: bytes(3000, 12) });
    expect(await sys.ask(host, { type: 'raise-version', handle: 12, version: 5 })).toBe(true);
    await expect(sys.ask(host, { type: 'raise-version', handle: 12, version: 4 })).rejects.toThrow(/chunk 12: version 4 is older than the stored 5/);
    await sys.shutdown();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 12 })).toEqual({ version: 5, lengthBytes: 3000 });
    // deleted and created anew, but with the old copy's raise left behind (with the raise in a
    // domain apart from the data, a crash can keep it while the data's delete and create sync)
    await sys.shutdown();
    let store = LmdbStore.open(join(dataDir, 'main'));
    const raise = store.get([HOST, 'version', 12])!;
    await store.close();
    await start();
    await sys.ask(host, { type: 'delete', handle: 12 });
    await sys.ask(host, { type: 'create', handle: 12, version: 1 });
    await sys.shutdown();
    store = LmdbStore.open(join(dataDir, 'main'));
    await store.commit([[[HOST, 'version', 12], raise]]);
    await store.close();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 12 })).toEqual({ version: 1, lengthBytes: 0 });
    expect(await sys.ask(host, { type: 'list' })).toContainEqual({ handle: 12, version: 1, lengthBytes: 0 });
  });

  it('a new chunk is durable by its creation record alone, and of two records the newer incarnation is the chunk: a record beside old data whose delete was lost does not come back', async () => {
    await sys.ask(host, { type: 'create', handle: 13, version: 1 });
    await sys.shutdown();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 13 })).toEqual({ version: 1, lengthBytes: 0 });
    await sys.ask(host, { type: 'write', handle: 13, offset: 0, data: bytes(3000, 13) });
    await sys.shutdown();
    let store = LmdbStore.open(join(dataDir, 'main'));
    const oldRecord = store.get([HOST, 'chunk', 13])!;
    await store.close();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 13 })).toEqual({ version: 1, lengthBytes: 3000 });
    await sys.ask(host, { type: 'delete', handle: 13 });
    await sys.ask(host, { type: 'create', handle: 13, version: 2 });
    // as if the delete beside the data had not synced before a crash, while the new creation had
    await sys.shutdown();
    store = LmdbStore.open(join(dataDir, 'main'));
    await store.commit([[[HOST, 'chunk', 13], oldRecord]]);
    await store.close();
    await start();
    expect(await sys.ask(host, { type: 'info', handle: 13 })).toEqual({ version: 2, lengthBytes: 0 });
    expect(await sys.ask(host, { type: 'list' })).toContainEqual({ handle: 13, version: 2, lengthBytes: 0 });
  });
});
