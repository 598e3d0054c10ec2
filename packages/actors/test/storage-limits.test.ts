import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorNode, ActorSystem, MemoryStore, decode, type DurableStore, type Key } from '../src/index.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { Remember } from './fixtures/hardening-kinds.ts';
import { NodeStorage } from '../src/storage/node-storage.ts';
import { MAX_KEY_BYTES } from '../src/storage/key-limits.ts';
import { rejectionOf, until, within } from './helpers.ts';
import { Kv } from './fixtures/storage-kinds.ts';

let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['w1'], modules: [new URL('./fixtures/storage-kinds.ts', import.meta.url)] });
});

afterAll(async () => {
  await within(sys.shutdown());
});

describe('keys and values are checked when the write is made', () => {
  const badKeys: Array<[string, unknown]> = [
    ['a key over LMDB\'s limit', ['k', 'x'.repeat(MAX_KEY_BYTES)]],
    ['an object part', ['k', { a: 1 }]],
    ['a boolean part', ['k', true]],
    ['a null part', ['k', null]],
    ['NaN', ['k', Number.NaN]],
    ['Infinity', ['k', Number.POSITIVE_INFINITY]],
    ['an object key', { a: 1 }],
  ];
  for (const node of ['main', 'w1']) {
    for (const [what, key] of badKeys) {
      it(`a put with ${what} fails the asker's turn with an error naming the key, on ${node}`, async () => {
        const kv = await sys.spawn(Kv, {}, { node });
        const err = await rejectionOf(sys.ask(kv, { type: 'put', key: key as string, value: 1 }));
        expect(err.message).toMatch(/storage key/);
        expect(await rejectionOf(sys.ask(kv, { type: 'delete', key: key as string }))).toHaveProperty('message', expect.stringMatching(/storage key/));
        expect(await rejectionOf(sys.ask(kv, { type: 'get', key: key as string }))).toHaveProperty('message', expect.stringMatching(/storage key/));
      });
    }

    it(`after a refused key, every actor's durable writes on ${node} commit and shutdown would not wait on it`, async () => {
      const bad = await sys.spawn(Kv, {}, { node });
      const good = await sys.spawn(Kv, {}, { node });
      await rejectionOf(sys.ask(bad, { type: 'put', key: ['k', 'x'.repeat(3000)], value: 1 }));
      expect(await sys.ask(good, { type: 'put', key: 'ok', value: 2 })).toBe(true);
      expect(await sys.ask(bad, { type: 'put', key: 'ok', value: 3 })).toBe(true);
      expect(await sys.ask(bad, { type: 'get', key: 'ok' })).toBe(3);
    });
  }

  it('a range with a limit that is not a whole number from 0 fails with an error naming the limit', async () => {
    const kv = await sys.spawn(Kv, {}, { node: 'w1' });
    for (const limit of [Number.NaN, -1, 1.5]) {
      const err = await rejectionOf(sys.ask(kv, { type: 'range', limit }));
      expect(err.message).toMatch(new RegExp(`storage range: limit ${String(limit)} is not a whole number from 0`));
    }
    expect(await sys.ask(kv, { type: 'range', limit: 0 })).toEqual([]);
  });

  it('the largest key that fits is accepted and reads back from LMDB', async () => {
    const kv = await sys.spawn(Kv, {}, { node: 'w1', name: 'k' });
    // The actor's id ('k') is part of the stored key: ['k', part] encodes to 1 + 1 + part bytes.
    const part = 'y'.repeat(MAX_KEY_BYTES - 2);
    await rejectionOf(sys.ask(kv, { type: 'put', key: `${part}y`, value: 'one byte too many' }));
    expect(await sys.ask(kv, { type: 'put', key: part, value: 'big' })).toBe(true);
    await sys.stopNode('w1');
    await sys.startNode('w1');
    const again = await sys.spawn(Kv, {}, { node: 'w1', name: 'k' });
    expect(await sys.ask(again, { type: 'get', key: part })).toBe('big');
  });

  it('a value that cannot be encoded fails the put with an error naming its key', async () => {
    const storage = new NodeStorage(new MemoryStore(), () => undefined, () => undefined);
    expect(() => storage.put(['k', 'v'], 10n ** 40n)).toThrow(/storage value for key \["k","v"\] cannot be encoded/);
    // Such a value cannot travel in a message either (issue 14.6): the ask fails at the send, naming where it sits.
    const kv = await sys.spawn(Kv, {}, { node: 'main' });
    const err = await rejectionOf(sys.ask(kv, { type: 'put', key: 'v', value: 10n ** 40n }));
    expect(err.message).toMatch(/msg\.value is a bigint outside 64 bits/);
  });
});

/** A store whose commits fail whenever they hold a write that `poisoned` picks. */
function poisonedStore(poisoned: (key: Key, value: Uint8Array | undefined) => boolean): {
  store: DurableStore;
  inner: MemoryStore;
  commits: () => number;
  inflight: () => number;
} {
  const inner = new MemoryStore();
  let commits = 0;
  let inflight = 0;
  const store: DurableStore = {
    get: (k) => inner.get(k),
    range: (o) => inner.range(o),
    commit: (w) => {
      commits++;
      inflight++;
      const done = w.some(([k, v]) => poisoned(k, v)) ? Promise.reject(new Error('disk says no')) : inner.commit(w);
      return done.finally(() => inflight--);
    },
    close: () => inner.close(),
  };
  return { store, inner, commits: () => commits, inflight: () => inflight };
}

const soon = (fn: () => void): void => void setTimeout(fn, 0);

/** `soon`, counting the callbacks it has not run yet: a test waits for the storage to be idle, not a sleep. */
function countedSoon(): { later: (fn: () => void) => void; waiting: () => number } {
  let waiting = 0;
  const later = (fn: () => void): void => {
    waiting++;
    setTimeout(() => {
      waiting--;
      fn();
    }, 0);
  };
  return { later, waiting: () => waiting };
}

describe('a commit that fails', () => {
  it('refuses the writes of the actor whose writes fail, commits the others, and is not retried forever', async () => {
    const { store, inner, commits, inflight } = poisonedStore((k) => k[0] === 'bad');
    const errors: unknown[] = [];
    const retries = countedSoon();
    const storage = new NodeStorage(store, (e) => errors.push(e), retries.later);
    const bad = storage.scope('bad');
    const good = storage.scope('good');
    bad.put('x', 1);
    good.put('y', 2);
    const badFlushed = bad.flushed();
    const goodFlushed = good.flushed();
    const nodeFlushed = storage.flushed();
    storage.commitIfDirty();
    expect(await rejectionOf(badFlushed)).toHaveProperty('name', 'StorageCommitError');
    await goodFlushed;
    expect(await rejectionOf(nodeFlushed)).toHaveProperty('message', expect.stringMatching(/bad/));
    expect(decode(inner.get(['good', 'y'])!)).toBe(2);
    expect(inner.get(['bad', 'x'])).toBeUndefined();
    expect(bad.get('x')).toBeUndefined(); // the refused write no longer shows in reads
    // Nothing left to retry: no retry waits and no commit is in flight (a retry forever never gets here).
    await until(() => retries.waiting() === 0 && inflight() === 0, 'the storage is idle');
    expect(commits()).toBeLessThanOrEqual(3);
    expect(errors.length).toBeGreaterThan(0);
    // The node goes on: later writes of both actors commit.
    good.put('z', 3);
    storage.commitIfDirty();
    await good.flushed();
    expect(decode(inner.get(['good', 'z'])!)).toBe(3);
  });

  it('a waiter of a later batch is told only after the failed batch before it is settled', async () => {
    const { store } = poisonedStore((k) => k[0] === 'bad');
    const storage = new NodeStorage(store, () => undefined, soon);
    const order: string[] = [];
    storage.scope('bad').put('x', 1);
    storage.afterDurable(() => order.push('first ok'), () => order.push('first refused'), 'bad');
    storage.commitIfDirty();
    storage.scope('good').put('y', 1);
    storage.afterDurable(() => order.push('second ok'), () => order.push('second refused'), 'good');
    storage.commitIfDirty();
    await until(() => order.length === 2, 'both waiters are told');
    expect(order).toEqual(['first refused', 'second ok']);
  });

  it('an actor whose writes were refused is not told that later writes made before the refusal are durable: they relied on it', async () => {
    const { store } = poisonedStore((_k, v) => v !== undefined && decode(v) === 'poison');
    const storage = new NodeStorage(store, () => undefined, soon);
    const a = storage.scope('a');
    const b = storage.scope('b');
    a.put('x', 'poison');
    const first = rejectionOf(a.flushed());
    storage.commitIfDirty();
    a.put('y', 'fine'); // a second batch in flight while the first fails
    b.put('y', 'fine');
    const second = rejectionOf(a.flushed());
    const other = b.flushed();
    storage.commitIfDirty();
    expect(await first).toHaveProperty('owner', 'a');
    expect(await second).toHaveProperty('owner', 'a');
    await other;
    a.put('z', 'after'); // made after the refusal was told: judged on its own
    storage.commitIfDirty();
    await a.flushed();
  });

  it('an actor whose writes are refused is failed to its supervisor, so a restart rebuilds its state from storage', async () => {
    const { store } = poisonedStore((_k, v) => v !== undefined && decode(v) === 'poison');
    const node = new ActorNode({ name: 'n', env: realEnv, seed: 1, logSink: () => undefined, openStore: () => store });
    const r = node.spawn(Remember, {});
    expect(await node.ask(r, { type: 'set', value: 'kept' })).toBe(true);
    const err = await rejectionOf(node.ask(r, { type: 'set', value: 'poison' }));
    expect(err).toMatchObject({ name: 'RemoteActorError', remoteName: 'StorageCommitError' });
    expect(await node.ask(r, { type: 'remembered' })).toBe('kept');
    // Refused while its turn still runs: the failure waits for the turn to end.
    expect(await node.ask(r, { type: 'setSlowly', value: 'poison', pauseMs: 400 })).toBe(true);
    expect(await node.ask(r, { type: 'remembered' })).toBe('kept');
  });

  it('a write refused in one batch does not overwrite a newer write of the same key that committed', async () => {
    const { store, inner } = poisonedStore((_k, v) => v !== undefined && decode(v) === 'old');
    const storage = new NodeStorage(store, () => undefined, soon);
    const a = storage.scope('a');
    a.put('k', 'old');
    const oldFlushed = a.flushed();
    storage.commitIfDirty();
    a.put('k', 'new');
    storage.commitIfDirty();
    await oldFlushed; // superseded by a newer write that is durable: nothing of it is lost
    await a.flushed();
    expect(decode(inner.get(['a', 'k'])!)).toBe('new');
    expect(a.get('k')).toBe('new');
  });
});
