/** Raw LMDB baseline, no actors: the same puts the storage benchmark makes, straight into lmdb-js. */
import { open } from 'lmdb';

/**
 * MiB/s of `count` puts of `bytes` each, in synced batches of `batch`, with up to `inflight`
 * batches committing at once: what NodeStorage does, with the options LmdbStore uses.
 */
export async function rawLmdbPuts(path: string, opts: { count: number; bytes: number; batch: number; inflight: number }): Promise<number> {
  const env = open({ path, noSubdir: false, mapSize: 2 ** 34, maxReaders: 512, overlappingSync: false, eventTurnBatching: false });
  const db = env.openDB<Buffer, number>({ name: 'raw', encoding: 'binary' });
  const value = Buffer.alloc(opts.bytes, 3);
  const t0 = performance.now();
  const running = new Set<Promise<void>>();
  for (let from = 0; from < opts.count; from += opts.batch) {
    const p: Promise<void> = db
      .batch(() => {
        for (let i = from; i < Math.min(opts.count, from + opts.batch); i++) void db.put(i, value);
      })
      .then(() => env.flushed)
      .then(() => void running.delete(p));
    running.add(p);
    if (running.size >= opts.inflight) await Promise.race(running);
  }
  await Promise.all(running);
  const ms = performance.now() - t0;
  await env.close();
  return (opts.count * opts.bytes) / 1_048_576 / (ms / 1000);
}
