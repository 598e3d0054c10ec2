import { describe, expect, it } from '@jest/globals';
import { MemoryStore, type DurableStore } from '../src/index.ts';
import { NodeStorage } from '../src/storage/node-storage.ts';
import { until } from './helpers.ts';

/** A memory store whose commits that write `heldKey` wait until `release` is called. */
function holdingStore(heldKey: string): { store: DurableStore; release: () => void; heldCommits: () => number } {
  const inner = new MemoryStore();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const store: DurableStore = {
    get: (k) => inner.get(k),
    range: (o) => inner.range(o),
    commit: async (w) => {
      if (w.some(([k]) => k.includes(heldKey))) {
        held++;
        await released;
      }
      await inner.commit(w);
    },
    close: () => inner.close(),
  };
  return { store, release, heldCommits: () => held };
}

describe('a durability waiter', () => {
  it('is told once the writes made before it are synced, while a later write is still waiting for its commit', async () => {
    const { store, release, heldCommits } = holdingStore('later');
    // one write per commit: the writes before the waiter take two commits
    const storage = new NodeStorage(store, () => undefined, (fn) => void setTimeout(fn, 0), undefined, 1);
    const a = storage.scope('a');
    a.put('first', 'x');
    a.put('second', 'x');
    let told = false;
    storage.afterDurable(() => (told = true));
    storage.commitIfDirty();
    // made after the waiter registered, and its commit does not finish until released
    a.put('later', 'x');
    await until(() => heldCommits() === 1, 'the later write is being committed');
    // (on the code before, the waiter went with the commit that emptied the dirty writes: the later one's)
    await until(() => told, 'the waiter is told without the later write');
    release();
    await storage.flushed();
    expect(a.get('later')).toBe('x');
  });

  it('still waits for every write made before it, however many commits they take', async () => {
    const { store, release, heldCommits } = holdingStore('third');
    const storage = new NodeStorage(store, () => undefined, (fn) => void setTimeout(fn, 0), undefined, 1);
    const a = storage.scope('a');
    for (const key of ['first', 'second', 'third']) a.put(key, 'x');
    let told = false;
    storage.afterDurable(() => (told = true));
    storage.commitIfDirty();
    await until(() => heldCommits() === 1, 'the third write is being committed');
    expect(told).toBe(false);
    release();
    await until(() => told, 'the waiter is told once the third write is synced');
  });
});
