import { decode, encode } from '../codec.ts';
import { compareKeys, keyString, type DurableStore, type Key, type KeyPart, type Write } from './store.ts';

export type StorageKey = KeyPart | readonly KeyPart[];

/** What an actor sees of durable storage (through `ctx.storage`), scoped to its own keys. */
export interface ActorStorage {
  get<T = unknown>(key: StorageKey): T | undefined;
  /** Rows with start <= key < end, in key order (or reverse); bounds default to the whole scope. */
  range<T = unknown>(opts?: { start?: StorageKey; end?: StorageKey; reverse?: boolean; limit?: number }): Array<{
    key: KeyPart[];
    value: T;
  }>;
  /** Visible to reads at once; durable with the next group commit. */
  put(key: StorageKey, value: unknown): void;
  delete(key: StorageKey): void;
  /** Resolves when every write made so far by this node is synced. */
  flushed(): Promise<void>;
}

type Pending = { key: Key; value: Uint8Array | undefined; version: number };

/**
 * A node's storage: writes go into an overlay that reads see at once, and the node commits the
 * overlay in one synced transaction per batch (group commit). Work that must wait for durability
 * (a reply saying "accepted") registers with `afterDurable` and runs when its batch is synced, so
 * no mailbox waits on the disk. One commit is in flight at a time; writes that arrive meanwhile
 * form the next batch, which is how batches grow under load.
 */
export class NodeStorage {
  private readonly overlay = new Map<string, Pending>();
  private dirty: Pending[] = [];
  /** Run when the next batch (the dirty writes) is synced. */
  private waiters: Array<() => void> = [];
  /** Run when the commit in flight is synced; undefined when none is. */
  private inflight: Array<() => void> | undefined;
  private version = 0;
  /** Synced commits and how many writes they carried (for stats and benchmarks). */
  readonly stats = { commits: 0, writes: 0 };
  /** Called when a write lands and no commit is pending for it (the node then schedules one). */
  onDirty: (() => void) | undefined;

  constructor(
    private readonly store: DurableStore,
    private readonly onError: (err: unknown) => void,
  ) {}

  get(key: Key): unknown {
    const p = this.overlay.get(keyString(key));
    if (p) return p.value === undefined ? undefined : decode(p.value);
    const bytes = this.store.get(key);
    return bytes === undefined ? undefined : decode(bytes);
  }

  range(start: Key, end: Key, reverse: boolean, limit: number): Array<[Key, unknown]> {
    const rows = new Map<string, [Key, Uint8Array | undefined]>();
    // Read enough from the store that overlay deletions cannot starve the limit.
    const storeLimit = limit === Infinity ? undefined : limit + this.overlay.size;
    for (const [k, v] of this.store.range({ start, end, reverse, limit: storeLimit })) rows.set(keyString(k), [k, v]);
    for (const [ks, p] of this.overlay) {
      if (compareKeys(p.key, start) >= 0 && compareKeys(p.key, end) < 0) rows.set(ks, [p.key, p.value]);
    }
    const out = [...rows.values()].filter((r): r is [Key, Uint8Array] => r[1] !== undefined);
    out.sort((a, b) => (reverse ? compareKeys(b[0], a[0]) : compareKeys(a[0], b[0])));
    return out.slice(0, limit).map(([k, v]) => [k, decode(v)]);
  }

  put(key: Key, value: unknown): void {
    this.write(key, encode(value));
  }

  delete(key: Key): void {
    this.write(key, undefined);
  }

  private write(key: Key, value: Uint8Array | undefined): void {
    const p: Pending = { key, value, version: ++this.version };
    this.overlay.set(keyString(key), p);
    this.dirty.push(p);
    if (this.dirty.length === 1) this.onDirty?.();
  }

  /** Runs `fn` once every write made so far is durable (at once, if nothing is outstanding). */
  afterDurable(fn: () => void): void {
    if (this.dirty.length > 0) this.waiters.push(fn);
    else if (this.inflight) this.inflight.push(fn);
    else fn();
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => this.afterDurable(resolve));
  }

  /** Called by the node at the end of each turn: starts a commit if there is work for one. */
  commitIfDirty(): void {
    if (this.inflight || this.dirty.length === 0) return;
    const batch = this.dirty;
    const waiters = this.waiters;
    this.dirty = [];
    this.waiters = [];
    this.inflight = waiters;
    const writes: Write[] = batch.map((p) => [p.key, p.value] as const);
    this.store.commit(writes).then(
      () => {
        this.stats.commits++;
        this.stats.writes += batch.length;
        for (const p of batch) {
          const ks = keyString(p.key);
          if (this.overlay.get(ks)?.version === p.version) this.overlay.delete(ks);
        }
        this.inflight = undefined;
        for (const w of waiters) w();
        this.commitIfDirty();
      },
      (err: unknown) => {
        this.inflight = undefined;
        this.onError(err);
      },
    );
  }

  /** A scoped view for one actor: its keys live under its persistence id. */
  scope(id: string): ActorStorage {
    const full = (key: StorageKey): Key => (Array.isArray(key) ? [id, ...(key as KeyPart[])] : [id, key as KeyPart]);
    const scopeEnd: Key = [`${id}\uffff`];
    return {
      get: <T>(key: StorageKey) => this.get(full(key)) as T | undefined,
      range: <T>(opts: { start?: StorageKey; end?: StorageKey; reverse?: boolean; limit?: number } = {}) =>
        this.range(
          opts.start === undefined ? [id] : full(opts.start),
          opts.end === undefined ? scopeEnd : full(opts.end),
          opts.reverse ?? false,
          opts.limit ?? Infinity,
        ).map(([k, value]) => ({ key: k.slice(1) as KeyPart[], value: value as T })),
      put: (key, value) => this.put(full(key), value),
      delete: (key) => this.delete(full(key)),
      flushed: () => this.flushed(),
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
