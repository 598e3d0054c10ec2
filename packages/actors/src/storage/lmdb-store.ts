import { open, type Database, type RootDatabase } from 'lmdb';
import { join } from 'node:path';
import { DEFAULT_DOMAIN, type StorageDomainOptions } from './domains.ts';
import type { DurableStore, Key, KeyPart, RangeOptions, Write } from './store.ts';

type LmdbKey = KeyPart[];

/**
 * LMDB-backed store. Commits go through lmdb-js's write thread (the JS thread never blocks on
 * fsync); the promise resolves after the transaction is committed and synced to disk. Each
 * commit syncs before it resolves (overlappingSync off), and a commit starts at once rather than
 * at the next event turn (eventTurnBatching off): the node batches writes per turn itself.
 */
export class LmdbStore implements DurableStore {
  private constructor(
    private readonly env: RootDatabase,
    private readonly db: Database<Buffer, LmdbKey>,
  ) {}

  static open(path: string, opts: StorageDomainOptions = {}): LmdbStore {
    const env = open({
      path,
      noSubdir: false,
      mapSize: opts.mapSizeBytes ?? 2 ** 34,
      maxReaders: 512,
      // Either way a commit's promise resolves only after its sync (see commit).
      overlappingSync: opts.syncMode === 'overlapping',
      eventTurnBatching: false,
    });
    const db = env.openDB<Buffer, LmdbKey>({ name: 'actors', encoding: 'binary' });
    return new LmdbStore(env, db);
  }

  get(key: Key): Uint8Array | undefined {
    return this.db.get(key as LmdbKey);
  }

  getTransient(key: Key): Uint8Array | undefined {
    // lmdb-js copies the value into a buffer it reuses for every read; its `length` says how much of it is the value
    const reused = this.db.getBinaryFast(key as LmdbKey);
    return reused?.subarray(0, reused.length);
  }

  *range(opts: RangeOptions): Iterable<readonly [Key, Uint8Array]> {
    const { start, end, reverse = false, limit } = opts;
    const s = start as LmdbKey;
    const e = end as LmdbKey;
    // Reversed, lmdb walks from its `start` down to its `end`: our exclusive end becomes an
    // exclusive start, and our inclusive start an inclusive end (lmdb's end is exclusive by default).
    const range = this.db.getRange(
      reverse ? { start: e, end: s, reverse: true, limit, exclusiveStart: true, inclusiveEnd: true } : { start: s, end: e, limit },
    );
    for (const { key, value } of range) yield [key, value];
  }

  async commit(writes: readonly Write[]): Promise<void> {
    // A batch runs wholly on lmdb's write thread, in one transaction (no hand-off back to this
    // thread for a callback, as transaction() needs); without overlappingSync its promise
    // resolves after the commit's sync. `flushed` is then already settled; awaiting it keeps the
    // promise honest if those options ever change.
    await this.db.batch(() => {
      for (const [key, value] of writes) {
        if (value === undefined) void this.db.remove(key as LmdbKey);
        else void this.db.put(key as LmdbKey, value as Buffer);
      }
    });
    await this.env.flushed;
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}

/** Where a node's domain lives under the data directory: the default domain at `<node>`, others at `<node>@<domain>`. */
export function domainPath(dataDir: string, node: string, domain: string): string {
  return join(dataDir, domain === DEFAULT_DOMAIN ? node : `${node}@${domain}`);
}
