import { open, type Database, type RootDatabase } from 'lmdb';
import type { DurableStore, Key, KeyPart, RangeOptions, Write } from './store.ts';

type LmdbKey = KeyPart[];

/**
 * LMDB-backed store. Commits go through lmdb-js's write thread (the JS thread never blocks on
 * fsync); the promise resolves after the transaction is committed and flushed to disk.
 */
export class LmdbStore implements DurableStore {
  private constructor(
    private readonly env: RootDatabase,
    private readonly db: Database<Buffer, LmdbKey>,
  ) {}

  static open(path: string): LmdbStore {
    const env = open({ path, noSubdir: false, mapSize: 2 ** 34, maxReaders: 512 });
    const db = env.openDB<Buffer, LmdbKey>({ name: 'actors', encoding: 'binary' });
    return new LmdbStore(env, db);
  }

  get(key: Key): Uint8Array | undefined {
    return this.db.get(key as LmdbKey);
  }

  *range(opts: RangeOptions): Iterable<readonly [Key, Uint8Array]> {
    const { start, end, reverse = false, limit } = opts;
    const s = start as LmdbKey;
    const e = end as LmdbKey;
    const range = this.db.getRange(reverse ? { start: e, end: s, reverse: true, limit, exclusiveStart: true } : { start: s, end: e, limit });
    for (const { key, value } of range) {
      // With reverse, lmdb's `end` is exclusive and `start` (our end) is skipped by exclusiveStart.
      yield [key, value];
    }
  }

  async commit(writes: readonly Write[]): Promise<void> {
    await this.db.transaction(() => {
      for (const [key, value] of writes) {
        if (value === undefined) this.db.remove(key as LmdbKey);
        else this.db.put(key as LmdbKey, value as Buffer);
      }
    });
    await this.env.flushed;
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
