/**
 * The durable store beneath a node: ordered keys, encoded values, and a commit that resolves only
 * once its writes are synced. LMDB implements it for real runs, MemoryStore for the simulator.
 */
export type KeyPart = string | number;
export type Key = readonly KeyPart[];
export type Write = readonly [key: Key, value: Uint8Array | undefined];

export interface RangeOptions {
  /** Inclusive lower bound. */
  start: Key;
  /** Exclusive upper bound. */
  end: Key;
  reverse?: boolean;
  limit?: number;
}

export interface DurableStore {
  get(key: Key): Uint8Array | undefined;
  /** `get` into a buffer of the store's that its next read may reuse (no copy out); stores without one leave it out. */
  getTransient?(key: Key): Uint8Array | undefined;
  range(opts: RangeOptions): Iterable<readonly [Key, Uint8Array]>;
  /** Applies the writes atomically (undefined deletes); resolves once they are synced. */
  commit(writes: readonly Write[]): Promise<void>;
  close(): Promise<void>;
}

/** Key order shared by every store: element-wise, numbers before strings, a prefix first. */
export function compareKeys(a: Key, b: Key): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const tx = typeof x;
    const ty = typeof y;
    if (tx !== ty) return tx === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function keyString(key: Key): string {
  return JSON.stringify(key);
}
