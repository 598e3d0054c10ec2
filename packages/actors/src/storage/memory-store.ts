import { compareKeys, keyString, type DurableStore, type Key, type RangeOptions, type Write } from './store.ts';

/**
 * The simulator's durable store. A commit becomes durable only when its (virtual) fsync finishes;
 * `crash()` loses every commit still in flight, as a power cut would. The store itself outlives
 * the node that writes to it, so a restarted node finds what was committed.
 */
export class MemoryStore implements DurableStore {
  private readonly data = new Map<string, readonly [Key, Uint8Array]>();
  private epoch = 0;
  /** Commits made and not yet applied, oldest first. */
  private syncing: Array<{ writes: readonly Write[]; synced: boolean; resolve: () => void }> = [];

  /** `fsync(done)` runs `done` when the commit would be on disk (the simulator delays it). */
  constructor(private readonly fsync: (done: () => void) => void = (done) => queueMicrotask(done)) {}

  get(key: Key): Uint8Array | undefined {
    return this.data.get(keyString(key))?.[1];
  }

  range(opts: RangeOptions): Iterable<readonly [Key, Uint8Array]> {
    const { start, end, reverse = false, limit = Infinity } = opts;
    const rows = [...this.data.values()]
      .filter(([k]) => compareKeys(k, start) >= 0 && compareKeys(k, end) < 0)
      .sort((a, b) => compareKeys(a[0], b[0]));
    if (reverse) rows.reverse();
    return rows.slice(0, limit);
  }

  commit(writes: readonly Write[]): Promise<void> {
    const epoch = this.epoch;
    return new Promise((resolve) => {
      const entry = { writes, synced: false, resolve };
      this.syncing.push(entry);
      this.fsync(() => {
        if (epoch !== this.epoch) return; // lost in a crash: never durable, never acknowledged
        entry.synced = true;
        this.applySynced();
      });
    });
  }

  /**
   * Commits land in the order they were made, as LMDB's do: one whose sync finished early waits
   * for the ones before it (else an older value could overwrite a newer one on "disk").
   */
  private applySynced(): void {
    while (this.syncing.length > 0 && this.syncing[0]!.synced) {
      const { writes, resolve } = this.syncing.shift()!;
      for (const [key, value] of writes) {
        if (value === undefined) this.data.delete(keyString(key));
        else this.data.set(keyString(key), [key, value]);
      }
      resolve();
    }
  }

  /** A crash: commits not yet synced are lost. */
  crash(): void {
    this.epoch++;
    this.syncing = [];
  }

  /** Number of keys on "disk" (for tests). */
  get size(): number {
    return this.data.size;
  }

  async close(): Promise<void> {}
}
