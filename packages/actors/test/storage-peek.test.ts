import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FramedBytes, LmdbStore, MemoryStore, type DurableStore } from '../src/index.ts';
import { NodeStorage } from '../src/storage/node-storage.ts';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'actors-peek-test-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const later = (fn: () => void): void => void setTimeout(fn, 0);
const storageOver = (store: DurableStore) => new NodeStorage(store, (err) => { throw err; }, later);

describe('storage reads without a copy (peek) and bytes framed in place (putBytes)', () => {
  for (const [name, open] of [
    ['LMDB', () => LmdbStore.open(join(dir, `lmdb-${Math.random()}`))],
    ['memory', () => new MemoryStore()],
  ] as const) {
    it(`${name}: putBytes stores what fill writes; get and peek read it back, before and after the commit`, async () => {
      const storage = storageOver(open());
      const s = storage.scope('a');
      s.putBytes(['b', 1], 5, (body) => body.set([1, 2, 3, 4, 5]));
      s.put(['m', 1], { x: 1 });
      expect(s.get(['b', 1])).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
      expect(s.peek(['b', 1], (v: Uint8Array | undefined) => v && [...v])).toEqual([1, 2, 3, 4, 5]);
      storage.commitIfDirty();
      await s.flushed();
      expect(s.get(['b', 1])).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
      expect(s.peek(['b', 1], (v: Uint8Array | undefined) => v && [...v])).toEqual([1, 2, 3, 4, 5]);
      expect(s.peek(['m', 1], (v) => v)).toEqual({ x: 1 });
      expect(s.peek(['none'], (v) => v)).toBeUndefined();
      await storage.close();
    });
  }

  it('LMDB: a peeked value lies in the buffer the next read reuses (no copy out), while get returns a copy of its own', async () => {
    const storage = storageOver(LmdbStore.open(join(dir, 'reuse')));
    const s = storage.scope('a');
    s.putBytes(['b', 1], 64 * 1024, (body) => body.fill(1));
    s.putBytes(['b', 2], 64 * 1024, (body) => body.fill(2));
    storage.commitIfDirty();
    await s.flushed();
    const copied = s.get<Uint8Array>(['b', 1])!;
    const peeked = s.peek(['b', 1], (v: Uint8Array | undefined) => v!);
    expect([copied[0], peeked[0]]).toEqual([1, 1]);
    s.peek(['b', 2], () => undefined);
    expect([copied[0], peeked[0]]).toEqual([1, 2]);
    await storage.close();
  });

  for (const [name, open] of [
    ['LMDB', () => LmdbStore.open(join(dir, `lmdb-framed-${Math.random()}`))],
    ['memory', () => new MemoryStore()],
  ] as const) {
    it(`${name}: putFramed stores bytes framed beforehand as they are (no copy at the put), read back before and after the commit`, async () => {
      const storage = storageOver(open());
      const s = storage.scope('a');
      const framed = new FramedBytes(4);
      framed.body.set([9, 8, 7, 6]);
      s.putFramed(['f', 1], framed);
      // before the commit, a read sees the very buffer that was framed
      expect(s.peek(['f', 1], (v: Uint8Array | undefined) => v?.buffer)).toBe(framed.value.buffer);
      storage.commitIfDirty();
      await s.flushed();
      expect(s.get(['f', 1])).toEqual(new Uint8Array([9, 8, 7, 6]));
      await storage.close();
    });
  }

  it('putFramed refuses anything but FramedBytes, and stores nothing', () => {
    const storage = storageOver(new MemoryStore());
    const s = storage.scope('a');
    const fake = { value: new Uint8Array(3), body: new Uint8Array(3) } as unknown as FramedBytes;
    expect(() => s.putFramed(['f'], fake)).toThrow(/takes a FramedBytes/);
    expect(s.get(['f'])).toBeUndefined();
  });

  it('putBytes refuses a length that cannot be stored, and stores nothing', () => {
    const storage = storageOver(new MemoryStore());
    const s = storage.scope('a');
    expect(() => s.putBytes(['b'], -1, () => undefined)).toThrow(/cannot store -1 bytes/);
    expect(s.get(['b'])).toBeUndefined();
  });
});
