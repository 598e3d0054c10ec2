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

/**
 * The disk's own answer to "a small synced put while another environment takes bulk writes":
 * the ms of each of `puts` single synced puts into one environment, alone and while a second environment on the
 * same disk takes 64 KiB puts in synced batches of 16, 4 batches in flight, flat out. Two
 * environments with their own write threads, as two storage domains have.
 */
export async function rawSmallPutsUnderBulk(dir: string, opts: { puts: number; bulkBytes: number }): Promise<{ alone: number[]; underBulk: number[] }> {
  const options = { noSubdir: false, mapSize: 2 ** 34, maxReaders: 512, overlappingSync: false, eventTurnBatching: false } as const;
  const small = open({ path: `${dir}/small`, ...options });
  const bulk = open({ path: `${dir}/bulk`, ...options });
  const smallDb = small.openDB<number, string>({ name: 'raw' });
  const bulkDb = bulk.openDB<Buffer, number>({ name: 'raw', encoding: 'binary' });
  const putMs = async (): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < opts.puts; i++) {
      const t0 = performance.now();
      await smallDb.put('promise', i);
      await small.flushed;
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  try {
    await putMs();
    const alone = await putMs();
    let running = true;
    const value = Buffer.alloc(opts.bulkBytes, 5);
    const writer = async (): Promise<void> => {
      let n = 0;
      const inflight = new Set<Promise<void>>();
      while (running) {
        const from = n;
        n += 16;
        const p: Promise<void> = bulkDb
          .batch(() => {
            for (let i = from; i < from + 16; i++) void bulkDb.put(i % 4096, value);
          })
          .then(() => bulk.flushed)
          .then(() => void inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= 4) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    };
    const writing = writer();
    const underBulk = await putMs();
    running = false;
    await writing;
    return { alone, underBulk };
  } finally {
    await small.close();
    await bulk.close();
  }
}
