import type { DurableStore, Key } from '../storage/store.ts';

/** Outside every actor's scope: actor ids never start with $. */
const STARTS_KEY: Key = ['$node', 'starts'];

/**
 * Counts this start of a node in its store and returns how many came before it (0 for a fresh
 * store). The count is synced before this resolves, so a process restarted over the same data
 * directory, even after a crash, sees a greater one and its node draws fresh random values.
 */
export async function countStart(store: DurableStore, node: string): Promise<number> {
  const before = startsIn(store, node);
  const next = new Uint8Array(4);
  new DataView(next.buffer).setUint32(0, before + 1, true);
  await store.commit([[STARTS_KEY, next]]);
  return before;
}

function startsIn(store: DurableStore, node: string): number {
  const stored = store.get(STARTS_KEY);
  if (stored === undefined) return 0;
  if (stored.length !== 4) throw new Error(`node ${node}: its count of starts in storage is corrupt (${stored.length} bytes, not 4)`);
  return new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0, true);
}
