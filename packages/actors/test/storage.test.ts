import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { ActorSystem, LmdbStore, MemoryStore, decode, encode, type ActorRef, type DurableStore, type KeyPart, type StorageKey } from '../src/index.ts';
import { NodeStorage } from '../src/storage/node-storage.ts';
import { DurableCounter } from './fixtures/kinds.ts';
import { Kv, type KvMsg, type RangeQuery } from './fixtures/storage-kinds.ts';
import { until } from './helpers.ts';

const modules = [new URL('./fixtures/kinds.ts', import.meta.url), new URL('./fixtures/storage-kinds.ts', import.meta.url)];

let dataDir: string;
let sys: ActorSystem;

beforeAll(async () => {
  // A fixed directory, so a node started again finds what its previous incarnation wrote.
  dataDir = mkdtempSync(join(tmpdir(), 'actors-storage-test-'));
  sys = await ActorSystem.start({ workers: ['w1'], dataDir, modules });
});

afterAll(async () => {
  await sys.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

const noop = (): void => undefined;
const soon = (fn: () => void): void => void setTimeout(fn, 0);

describe('durability on a worker node', () => {
  it('every acknowledged add of a durable counter is committed before its reply, and survives an abrupt kill of the node', async () => {
    const counter = await sys.spawn(DurableCounter, {}, { node: 'w1', name: 'dc' });
    // A second reader of w1's LMDB environment, in this thread: it sees committed transactions only.
    const env = open({ path: join(dataDir, 'w1'), noSubdir: false, mapSize: 2 ** 34, maxReaders: 512 });
    const db = env.openDB<Buffer, KeyPart[]>({ name: 'actors', encoding: 'binary' });
    try {
      let expected = 0;
      for (const by of [1, 2, 3, 4, 5]) {
        expected += by;
        expect(await sys.ask(counter, { type: 'add', by })).toBe(expected);
        db.resetReadTxn(); // lmdb-js keeps a read snapshot until a timer renews it; take a fresh one now
        const bytes = db.get(['dc', 'n']);
        expect(bytes && decode(bytes)).toBe(expected);
      }
    } finally {
      await env.close();
    }
    await sys.killNode('w1');
    expect(sys.nodes()).toEqual(['main']);
    await sys.startNode('w1');
    const again = await sys.spawn(DurableCounter, {}, { node: 'w1', name: 'dc' });
    expect(await sys.ask(again, { type: 'get' })).toBe(15);
  });

  it('a node killed while it writes without pause loses no acknowledged write, and the process lives on', async () => {
    // killNode used to be Worker.terminate(), which aborts the whole process if it lands inside
    // lmdb-js's native write call; now the thread exits between tasks, mid-stream all the same.
    for (let round = 0; round < 5; round++) {
      const kv = await sys.spawn(Kv, {}, { node: 'w1', name: `busy-${round}` });
      const acked: number[] = [];
      const writes: Array<Promise<void>> = [];
      let killed = false;
      // A stream of writes, a few per event-loop turn, that goes on until the node is dead.
      const stream = (async () => {
        for (let i = 0; !killed; i++) {
          writes.push(sys.ask(kv, { type: 'put', key: ['n', i], value: i }, { timeoutMs: 10_000 }).then(() => void acked.push(i), noop));
          if (i % 8 === 7) await new Promise((r) => setImmediate(r));
        }
      })();
      while (acked.length < 200) await new Promise((r) => setTimeout(r, 1));
      await sys.killNode('w1');
      killed = true;
      await stream;
      await Promise.all(writes);
      expect(acked.length).toBeLessThan(writes.length); // killed mid-stream
      await sys.startNode('w1');
      const again = await sys.spawn(Kv, {}, { node: 'w1', name: `busy-${round}` });
      const stored = new Set((await sys.ask(again, { type: 'range' })).map((r) => r.value as number));
      expect(acked.filter((i) => !stored.has(i))).toEqual([]);
    }
  }, 180_000);

  it('a delete acknowledged as durable stays deleted after an abrupt kill', async () => {
    const kv = await sys.spawn(Kv, {}, { node: 'w1', name: 'kv-delete' });
    await sys.ask(kv, { type: 'put', key: 'keep', value: 1 });
    await sys.ask(kv, { type: 'put', key: 'drop', value: 2 });
    await sys.ask(kv, { type: 'delete', key: 'drop' });
    await sys.killNode('w1');
    await sys.startNode('w1');
    const again = await sys.spawn(Kv, {}, { node: 'w1', name: 'kv-delete' });
    expect(await sys.ask(again, { type: 'get', key: 'drop' })).toBeUndefined();
    expect(await sys.ask(again, { type: 'range' })).toEqual([{ key: ['keep'], value: 1 }]);
  });

  it('writes made while one batch of messages is handled share a commit, and each reply waits for it', async () => {
    const kv = await sys.spawn(Kv, {}, { node: 'w1' });
    const before = (await sys.stats('w1')).storage;
    const writes = 200;
    const replies = await Promise.all(Array.from({ length: writes }, (_, i) => sys.ask(kv, { type: 'put', key: i, value: i * i })));
    expect(replies).toEqual(Array(writes).fill(true));
    const after = (await sys.stats('w1')).storage;
    expect(after.writes - before.writes).toBe(writes);
    // One batch from main lands in one turn; allow a few commits for batches the transport split.
    expect(after.commits - before.commits).toBeLessThanOrEqual(5);
    expect((await sys.ask(kv, { type: 'range', limit: 3, reverse: true })).map((r) => r.value)).toEqual([199 * 199, 198 * 198, 197 * 197]);
  });
});

describe('the storage API, read back from LMDB and from the uncommitted overlay', () => {
  let kv: ActorRef<KvMsg>;
  const keys = [10, 2, -1, 1.5, 1, 'b', 'a', 0];

  beforeAll(async () => {
    kv = await sys.spawn(Kv, {}, { node: 'w1', name: 'kv-range' });
    // Each reply comes after its commit, so later reads find these rows in LMDB, not in the overlay.
    for (const k of keys) await sys.ask(kv, { type: 'put', key: k, value: `v${k}` });
  });

  it('range returns numeric keys in numeric order, then string keys in string order', async () => {
    expect((await sys.ask(kv, { type: 'range' })).map((r) => r.key)).toEqual([[-1], [0], [1], [1.5], [2], [10], ['a'], ['b']]);
  });

  it('range takes start inclusive and end exclusive, forward and in reverse', async () => {
    const keysOf = async (q: Omit<Extract<KvMsg, { type: 'range' }>, 'type'>) => (await sys.ask(kv, { type: 'range', ...q })).map((r) => r.key[0]);
    expect(await keysOf({ start: 1, end: 10 })).toEqual([1, 1.5, 2]);
    expect(await keysOf({ start: 1, end: 10, reverse: true })).toEqual([2, 1.5, 1]);
    expect(await keysOf({ start: 0, reverse: true, limit: 2 })).toEqual(['b', 'a']);
    expect(await keysOf({ end: 1, limit: 1 })).toEqual([-1]);
  });

  it('a write is visible to get and range at once, before it is committed', async () => {
    const seen = await sys.ask(kv, { type: 'putAndRead', key: 5, value: 'fresh' });
    expect(seen.get).toBe('fresh');
    expect(seen.range.map((r) => r.key[0])).toEqual([-1, 0, 1, 1.5, 2, 5, 10, 'a', 'b']);
  });

  it('an actor\'s keys are its own, even when its name is a prefix of another\'s', async () => {
    const a = await sys.spawn(Kv, {}, { node: 'w1', name: 'scope' });
    const ab = await sys.spawn(Kv, {}, { node: 'w1', name: 'scopex' });
    await sys.ask(a, { type: 'put', key: 1, value: 'mine' });
    await sys.ask(ab, { type: 'put', key: 1, value: 'theirs' });
    await sys.ask(ab, { type: 'putNow', key: 2, value: 'theirs, uncommitted' });
    expect(await sys.ask(a, { type: 'range' })).toEqual([{ key: [1], value: 'mine' }]);
    expect(await sys.ask(a, { type: 'range', reverse: true })).toEqual([{ key: [1], value: 'mine' }]);
  });
});

describe('LMDB and the simulator\'s store agree', () => {
  it('on key order and on range bounds, limits and direction, for the same writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'actors-order-test-'));
    const stores = { lmdb: LmdbStore.open(dir), memory: new MemoryStore() };
    const keys: StorageKey[] = [10, [1, 'x'], -5, 'b', 1.5, [1], 0, '', 'a', [2, 0], 2, 'ab'];
    const queries: RangeQuery[] = [
      {},
      { reverse: true },
      { start: 1, end: 2 },
      { start: 1, end: 2, reverse: true },
      { start: 0, end: 'a', limit: 3 },
      { start: 0, end: 'a', limit: 3, reverse: true },
      { start: 'a' },
      { end: 0, reverse: true },
    ];
    const results: Record<string, unknown[]> = {};
    try {
      for (const [name, store] of Object.entries(stores)) {
        const storage = new NodeStorage(store, noop, soon);
        const mine = storage.scope('x');
        // Neighbours whose ids extend or precede 'x' must never show up in its ranges.
        for (const id of ['w', 'xa', 'x\u0001']) storage.scope(id).put(1, id);
        for (const k of keys) mine.put(k, name);
        storage.commitIfDirty();
        await storage.flushed();
        results[name] = queries.map((q) => mine.range(q).map((r) => r.key));
      }
      expect(results.lmdb).toEqual(results.memory);
      expect(results.lmdb![0]).toEqual([[-5], [0], [1], [1, 'x'], [1.5], [2], [2, 0], [10], [''], ['a'], ['ab'], ['b']]);
    } finally {
      await stores.lmdb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** NodeStorage over a MemoryStore whose fsyncs finish only when the test says so. */
function manualDisk() {
  const fsyncs: Array<() => void> = [];
  const store = new MemoryStore((done) => fsyncs.push(done));
  const syncAll = async (): Promise<void> => {
    while (fsyncs.length > 0) {
      fsyncs.shift()!();
      await new Promise((r) => setImmediate(r)); // let the commit's continuations run
    }
  };
  return { store, fsyncs, syncAll };
}

describe('group commit and crashes, with the simulator\'s store', () => {
  it('commits overlap, yet a waiter runs only once its batch and every earlier one are synced', async () => {
    const { store, fsyncs, syncAll } = manualDisk();
    const storage = new NodeStorage(store, noop, soon);
    const acked: string[] = [];
    storage.put(['a', 1], 'one');
    storage.afterDurable(() => acked.push('first'));
    storage.commitIfDirty();
    storage.put(['a', 2], 'two');
    storage.put(['a', 3], 'three');
    storage.afterDurable(() => acked.push('second'));
    storage.commitIfDirty();
    expect(fsyncs.length).toBe(2);
    fsyncs.splice(1, 1)[0]!(); // the second commit's sync finishes first
    await new Promise((r) => setImmediate(r));
    expect(acked).toEqual([]);
    await syncAll();
    expect(acked).toEqual(['first', 'second']);
    expect(storage.stats).toEqual({ commits: 2, writes: 3 });
    expect(store.size).toBe(3);
  });

  it('beyond the commits in flight, writes gather into one batch', async () => {
    const { store, fsyncs, syncAll } = manualDisk();
    const storage = new NodeStorage(store, noop, soon);
    for (let i = 0; i < 10; i++) {
      storage.put(['b', i], i);
      storage.commitIfDirty();
    }
    expect(fsyncs.length).toBe(4);
    await syncAll();
    expect(storage.stats).toEqual({ commits: 5, writes: 10 });
    expect(store.size).toBe(10);
  });

  it('a failed commit is retried and its waiters wait for the retry; nothing is acknowledged early', async () => {
    const { store, fsyncs, syncAll } = manualDisk();
    let failures = 1;
    const flaky: DurableStore = {
      get: (k) => store.get(k),
      range: (o) => store.range(o),
      commit: (w) => (failures-- > 0 ? Promise.reject(new Error('disk full')) : store.commit(w)),
      close: () => store.close(),
    };
    const errors: unknown[] = [];
    const storage = new NodeStorage(flaky, (e) => errors.push(e), soon);
    const acked: string[] = [];
    storage.put(['c', 1], 'v');
    storage.afterDurable(() => acked.push('v'));
    storage.commitIfDirty();
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect(acked).toEqual([]);
    await until(() => fsyncs.length > 0, 'the retry\'s commit starts');
    await syncAll();
    expect(acked).toEqual(['v']);
    expect(decode(store.get(['c', 1])!)).toBe('v');
  });

  it('MemoryStore: a commit in flight at a crash is lost and never acknowledged; earlier commits stay', async () => {
    const { store, fsyncs } = manualDisk();
    let firstDone = false;
    let secondDone = false;
    void store.commit([[['k', 1], encode('kept')]]).then(() => (firstDone = true));
    fsyncs.shift()!();
    await Promise.resolve();
    expect(firstDone).toBe(true);
    void store.commit([[['k', 2], encode('lost')]]).then(() => (secondDone = true));
    store.crash();
    fsyncs.shift()!(); // the disk "finishes" after the crash: too late
    await new Promise((r) => setImmediate(r));
    expect(secondDone).toBe(false);
    expect(store.get(['k', 2])).toBeUndefined();
    expect(decode(store.get(['k', 1])!)).toBe('kept');
  });

  it('a node restarted on a crashed store sees what was acknowledged, and nothing of what was in flight', async () => {
    const { store, syncAll } = manualDisk();
    const first = new NodeStorage(store, noop, soon);
    const acct = first.scope('acct');
    const acked: number[] = [];
    acct.put('balance', 10);
    void acct.flushed().then(() => acked.push(10));
    first.commitIfDirty();
    await syncAll();
    acct.put('balance', 20);
    void acct.flushed().then(() => acked.push(20));
    first.commitIfDirty();
    expect(acct.get('balance')).toBe(20); // read from the overlay
    store.crash();
    await syncAll();
    expect(acked).toEqual([10]);
    expect(new NodeStorage(store, noop, soon).scope('acct').get('balance')).toBe(10);
  });
});
