/** Raw LMDB read baseline, no actors: 64 KiB values read back from one synced environment. */
import { open } from 'lmdb';

/** MiB/s of reading `count` values of `bytes` each, written (synced) beforehand into one environment. */
export async function rawLmdbGets(path: string, opts: { count: number; bytes: number }): Promise<number> {
  const env = open({ path, noSubdir: false, mapSize: 2 ** 34, maxReaders: 512, overlappingSync: false, eventTurnBatching: false });
  const db = env.openDB<Buffer, number>({ name: 'raw', encoding: 'binary' });
  const value = Buffer.alloc(opts.bytes, 7);
  for (let from = 0; from < opts.count; from += 64) {
    await db.batch(() => {
      for (let i = from; i < Math.min(opts.count, from + 64); i++) void db.put(i, value);
    });
  }
  await env.flushed;
  let total = 0;
  const t0 = performance.now();
  for (let i = 0; i < opts.count; i++) total += db.get(i)!.length;
  const ms = performance.now() - t0;
  await env.close();
  if (total !== opts.count * opts.bytes) throw new Error(`raw lmdb reads: read ${total} bytes, wrote ${opts.count * opts.bytes}`);
  return total / 1_048_576 / (ms / 1000);
}
