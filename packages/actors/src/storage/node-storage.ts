import { decode, encodeValue } from '../codec.ts';
import { framedBytes, FramedBytes } from './framed-bytes.ts';
import { StorageCommitError } from '../errors.ts';
import { checkKey } from './key-limits.ts';
import { compareKeys, keyString, type DurableStore, type Key, type KeyPart } from './store.ts';

export type StorageKey = KeyPart | readonly KeyPart[];

/** What an actor sees of durable storage (through `ctx.storage`), scoped to its own keys. */
export interface ActorStorage {
  get<T = unknown>(key: StorageKey): T | undefined;
  /**
   * `get` without copying the value out of the store where the store allows it (LMDB): the value,
   * a byte array in particular, may lie in a buffer that the next storage read on this thread
   * reuses. It is valid only inside `use`, which must not read storage (writes are fine).
   */
  peek<T = unknown, R = unknown>(key: StorageKey, use: (value: T | undefined) => R): R;
  /** Rows with start <= key < end, in key order (or reverse); bounds default to the whole scope. */
  range<T = unknown>(opts?: { start?: StorageKey; end?: StorageKey; reverse?: boolean; limit?: number }): Array<{
    key: KeyPart[];
    value: T;
  }>;
  /** Visible to reads at once; durable with the next group commit. */
  put(key: StorageKey, value: unknown): void;
  /**
   * Stores lengthBytes of bytes that `fill` writes in place (`get` returns them as a Uint8Array):
   * they are framed as they are written, not copied again as a finished array given to `put` is.
   */
  putBytes(key: StorageKey, lengthBytes: number, fill: (bytes: Uint8Array) => void): void;
  /**
   * Stores bytes framed beforehand as they are (`get` returns `framed.body`'s bytes): no copy at
   * the put. The caller must not change them afterwards.
   */
  putFramed(key: StorageKey, framed: FramedBytes): void;
  delete(key: StorageKey): void;
  /**
   * Resolves when every write made so far by this node is synced; rejects with a
   * StorageCommitError if this actor's writes among them were refused (their commit failed).
   */
  flushed(): Promise<void>;
  /**
   * Resolves when the domain's writes waiting for their commit are under its byte bound. The
   * runtime already holds back an actor's next message while its domain is over the bound; an
   * async receive that writes in a loop awaits this between writes.
   */
  room(): Promise<void>;
}

/** A write not yet synced; `owner` is the actor (persistence id) that made it, '' for the node. */
type Pending = { key: Key; value: Uint8Array | undefined; version: number; owner: string };

/** Work that waits for durability: `done` once synced, `refused` if the owner's writes were refused. */
interface Waiter {
  owner: string | undefined;
  /** The version of the newest write when it registered: it waits for the commit that takes that write, not for writes made after it. */
  upTo: number;
  done: () => void;
  refused: (err: StorageCommitError) => void;
  /** Set when an earlier batch refused this owner's writes: this waiter relied on them too. */
  refusal?: StorageCommitError;
}

/** Commits that may be in flight at once (their syncs overlap; they complete in order). */
const MAX_INFLIGHT_COMMITS = 4;
const RETRY_AFTER_MS = 100;

/** Default bound on the bytes of writes waiting for their commit, per storage domain. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/**
 * Default bytes one commit carries, per storage domain: a bigger commit holds the disk (and the
 * thread that copies it) longer, and another domain's sync waits behind it.
 */
export const DEFAULT_MAX_COMMIT_BYTES = 1024 * 1024;

/**
 * A node's storage: writes go into an overlay that reads see at once, and the node commits the
 * overlay in one synced transaction per turn (group commit). Work that must wait for durability
 * (a reply saying "accepted") registers with `afterDurable` and runs when its batch and every
 * earlier one are synced, so no mailbox waits on the disk. A few commits may be in flight at
 * once, so one actor's writes do not queue behind another's sync; beyond that, writes gather
 * into the next batch, which is how batches grow under load.
 *
 * Keys are checked when a write is made. A batch whose commit fails anyway is tried once more,
 * each actor's writes in a transaction of their own: the actors whose writes fail again are
 * refused (their writes leave the overlay, their waiters hear `refused`), the others commit.
 * Nothing is retried forever, and nothing is acknowledged that was not synced.
 */
export class NodeStorage {
  private readonly overlay = new Map<string, Pending>();
  private dirty: Pending[] = [];
  /** Waiting for dirty writes, in registration order (so by upTo): each goes with the commit that takes its upTo write. */
  private waiters: Waiter[] = [];
  /** Told when the newest commit in flight is synced; undefined when none is in flight. */
  private newestWaiters: Waiter[] | undefined;
  /** The waiters of each commit in flight, oldest first. */
  private readonly inflightWaiters: Waiter[][] = [];
  private inflight = 0;
  /** Settles when the newest commit and every earlier one are settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private version = 0;
  /** Synced commits and how many writes they carried (for stats and benchmarks). */
  readonly stats = { commits: 0, writes: 0 };
  /** Called when a write lands and no commit is pending for it (the node then schedules one). */
  onDirty: (() => void) | undefined;

  /** Bytes written and not yet through their commit. */
  private pendingBytes = 0;
  /** Bytes of values written and not yet in a commit (the dirty writes). */
  private dirtyBytes = 0;
  private roomWaiters: Array<() => void> = [];

  constructor(
    private readonly store: DurableStore,
    private readonly onError: (err: unknown) => void,
    private readonly later: (fn: () => void, ms: number) => void,
    private readonly maxPendingBytes = DEFAULT_MAX_PENDING_BYTES,
    private readonly maxCommitBytes = DEFAULT_MAX_COMMIT_BYTES,
  ) {}

  /** Over the byte bound: writers wait (the node holds back their next message). */
  get full(): boolean {
    return this.pendingBytes > this.maxPendingBytes;
  }

  /** A commit's worth of writes is waiting: the node ends its turn so the commit starts now. */
  get commitDue(): boolean {
    return this.dirtyBytes >= this.maxCommitBytes;
  }

  room(): Promise<void> {
    return this.full ? new Promise((resolve) => this.roomWaiters.push(resolve)) : Promise.resolve();
  }

  get(key: Key): unknown {
    return this.read(key, false);
  }

  /** `get` over the store's own buffer where it has one (see ActorStorage.peek). */
  peek(key: Key): unknown {
    return this.read(key, true);
  }

  private read(key: Key, transient: boolean): unknown {
    checkKey(key);
    // (no key string to build while nothing waits for its commit: a bulk reader's common case)
    const p = this.overlay.size === 0 ? undefined : this.overlay.get(keyString(key));
    if (p) return p.value === undefined ? undefined : decode(p.value);
    const bytes = transient && this.store.getTransient ? this.store.getTransient(key) : this.store.get(key);
    return bytes === undefined ? undefined : decode(bytes);
  }

  range(start: Key, end: Key, reverse: boolean, limit: number): Array<[Key, unknown]> {
    checkKey(start);
    checkKey(end);
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) throw new RangeError(`storage range: limit ${String(limit)} is not a whole number from 0`);
    if (typeof reverse !== 'boolean') throw new TypeError(`storage range: reverse ${String(reverse)} is not a boolean`);
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

  put(key: Key, value: unknown, owner = ''): void {
    checkKey(key);
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(value);
    } catch (err) {
      throw new TypeError(`storage value for key ${keyString(key)} cannot be encoded: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.write(key, bytes, owner);
  }

  putBytes(key: Key, lengthBytes: number, fill: (bytes: Uint8Array) => void, owner = ''): void {
    checkKey(key);
    const { value, body } = framedBytes(lengthBytes);
    fill(body);
    this.write(key, value, owner);
  }

  putFramed(key: Key, framed: FramedBytes, owner = ''): void {
    checkKey(key);
    if (!(framed instanceof FramedBytes)) throw new TypeError(`storage: putFramed for key ${keyString(key)} takes a FramedBytes`);
    this.write(key, framed.value, owner);
  }

  delete(key: Key, owner = ''): void {
    checkKey(key);
    this.write(key, undefined, owner);
  }

  private write(key: Key, value: Uint8Array | undefined, owner: string): void {
    const p: Pending = { key, value, version: ++this.version, owner };
    this.pendingBytes += pendingSize(p);
    this.dirtyBytes += valueSize(p);
    this.overlay.set(keyString(key), p);
    this.dirty.push(p);
    if (this.dirty.length === 1) this.onDirty?.();
  }

  /**
   * Runs `done` once every write made so far is durable (at once, if nothing is outstanding), or
   * `refused` if writes of `owner` (of anyone, when no owner is given) among them were refused.
   */
  afterDurable(done: () => void, refused: (err: StorageCommitError) => void = () => undefined, owner?: string): void {
    const w: Waiter = { owner, done, refused, upTo: this.version };
    if (this.dirty.length > 0) this.waiters.push(w);
    else if (this.newestWaiters) this.newestWaiters.push(w);
    else done();
  }

  flushed(owner?: string): Promise<void> {
    return new Promise((resolve, reject) => this.afterDurable(resolve, reject, owner));
  }

  /**
   * Called by the node at the end of each turn: starts a commit if there is work for one. A commit
   * takes writes until their values reach maxCommitBytes (the last one may cross it); the rest
   * waits for the next commit. A waiter goes with the commit that takes the newest write made
   * before it registered, so writes made after it (a steady stream of them) never hold it back.
   */
  commitIfDirty(): void {
    if (this.dirty.length === 0 || this.inflight >= MAX_INFLIGHT_COMMITS) return;
    let bytes = 0;
    let n = 0;
    while (n < this.dirty.length && bytes < this.maxCommitBytes) bytes += valueSize(this.dirty[n++]!);
    const batch = n === this.dirty.length ? this.dirty : this.dirty.slice(0, n);
    this.dirty = n === this.dirty.length ? [] : this.dirty.slice(n);
    this.dirtyBytes -= bytes;
    const newest = batch[batch.length - 1]!.version;
    let taken = 0;
    while (taken < this.waiters.length && this.waiters[taken]!.upTo <= newest) taken++;
    const waiters = this.waiters.splice(0, taken);
    this.newestWaiters = waiters;
    this.inflightWaiters.push(waiters);
    this.inflight++;
    // Settled only when every earlier commit is settled too: a waiter may rely on all writes before it.
    const outcome = Promise.all([this.tail, this.commitOrIsolate(batch)]).then(([, refused]) => refused);
    this.tail = outcome;
    void outcome.then((refused) => {
      this.inflight--;
      this.stats.commits++;
      this.stats.writes += batch.length;
      for (const p of batch) this.pendingBytes -= pendingSize(p);
      if (!this.full && this.roomWaiters.length > 0) {
        const ready = this.roomWaiters;
        this.roomWaiters = [];
        for (const r of ready) r();
      }
      for (const p of batch) {
        const ks = keyString(p.key);
        if (this.overlay.get(ks)?.version === p.version) this.overlay.delete(ks);
      }
      if (this.newestWaiters === waiters) this.newestWaiters = undefined;
      this.inflightWaiters.splice(this.inflightWaiters.indexOf(waiters), 1);
      for (const w of waiters) {
        const err = w.refusal ?? (w.owner === undefined ? refused.values().next().value : refused.get(w.owner));
        if (err) w.refused(err);
        else w.done();
      }
      // A refused actor's later waiters ("everything so far is durable") cannot be told so either.
      if (refused.size > 0) {
        for (const w of [...this.inflightWaiters.flat(), ...this.waiters]) {
          w.refusal ??= w.owner === undefined ? refused.values().next().value : refused.get(w.owner);
        }
      }
      this.commitIfDirty();
    });
  }

  /** Commits a batch; if that fails, each owner's writes alone. Resolves with the owners refused. */
  private async commitOrIsolate(batch: Pending[]): Promise<Map<string, StorageCommitError>> {
    const refused = new Map<string, StorageCommitError>();
    try {
      await this.store.commit(batch.map((p) => [p.key, p.value] as const));
      return refused;
    } catch (err) {
      this.onError(new Error(`group commit of ${batch.length} writes failed; trying each actor's writes alone: ${String(err)}`));
    }
    await new Promise<void>((resolve) => this.later(resolve, RETRY_AFTER_MS));
    const byOwner = new Map<string, Pending[]>();
    for (const p of batch) {
      // A write superseded by a newer one meanwhile is left to that one (it must not overwrite it).
      if (this.overlay.get(keyString(p.key))?.version !== p.version) continue;
      const group = byOwner.get(p.owner);
      if (group) group.push(p);
      else byOwner.set(p.owner, [p]);
    }
    for (const [owner, group] of byOwner) {
      try {
        await this.store.commit(group.map((p) => [p.key, p.value] as const));
      } catch (err) {
        const e = new StorageCommitError(owner, group.length, err);
        refused.set(owner, e);
        // Gone from reads before anyone hears of it (a restarted actor must not read them back).
        for (const p of group) {
          const ks = keyString(p.key);
          if (this.overlay.get(ks)?.version === p.version) this.overlay.delete(ks);
        }
        this.onError(e);
      }
    }
    return refused;
  }

  /** A scoped view for one actor: its keys live under its persistence id. */
  scope(id: string): ActorStorage {
    const full = (key: StorageKey): Key => (Array.isArray(key) ? [id, ...(key as KeyPart[])] : [id, key as KeyPart]);
    // The least key above every [id, ...]: [id + '\uffff'] would still take in another actor's
    // rows whose id extends this one ('a' would see 'ab'); id + '\0' sorts before any such id.
    const scopeEnd: Key = [`${id}\u0000`];
    return {
      get: <T>(key: StorageKey) => this.get(full(key)) as T | undefined,
      peek: <T, R>(key: StorageKey, use: (value: T | undefined) => R) => use(this.peek(full(key)) as T | undefined),
      range: <T>(opts: { start?: StorageKey; end?: StorageKey; reverse?: boolean; limit?: number } = {}) =>
        this.range(
          opts.start === undefined ? [id] : full(opts.start),
          opts.end === undefined ? scopeEnd : full(opts.end),
          opts.reverse ?? false,
          opts.limit ?? Infinity,
        ).map(([k, value]) => ({ key: k.slice(1) as KeyPart[], value: value as T })),
      put: (key, value) => this.put(full(key), value, id),
      putBytes: (key, lengthBytes, fill) => this.putBytes(full(key), lengthBytes, fill, id),
      putFramed: (key, framed) => this.putFramed(full(key), framed, id),
      delete: (key) => this.delete(full(key), id),
      flushed: () => this.flushed(id),
      room: () => this.room(),
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** What a pending write holds in memory, roughly: its value and a little for the key. */
function pendingSize(p: Pending): number {
  return valueSize(p) + 64;
}

function valueSize(p: Pending): number {
  return p.value?.length ?? 0;
}
