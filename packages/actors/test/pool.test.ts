import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import { ActorSystem, Pool, RemoteActorError, type ActorRef, type PoolMsg } from '../src/index.ts';
import { PoolClient } from './fixtures/pool-client.ts';
import { rejectionOf } from './helpers.ts';

const filename = new URL('./fixtures/crc-task.ts', import.meta.url).href;

let sys: ActorSystem;
let pool: ActorRef<PoolMsg>;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: 2, modules: [new URL('./fixtures/pool-client.ts', import.meta.url)] });
  pool = await sys.spawn(Pool, { filename, maxThreads: 2 }, { node: 'w1' });
});

afterAll(async () => {
  await sys.shutdown();
});

/** Deterministic bytes that are not all alike. */
function bytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 0x12345678;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('Pool', () => {
  it('runs the task in a pool thread and answers with its result: the CRC-32 of a buffer', async () => {
    expect(await sys.ask(pool, { type: 'run', input: new TextEncoder().encode('123456789') }, { timeoutMs: 10_000 })).toBe(0xcbf43926);
    const big = bytes(1 << 20);
    expect(await sys.ask(pool, { type: 'run', input: big }, { timeoutMs: 10_000 })).toBe(crc32(big));
  });

  it('a task that throws fails the ask with RemoteActorError carrying the task\'s message', async () => {
    const err = await rejectionOf(sys.ask(pool, { type: 'run', input: { fail: 'bad input' } }, { timeoutMs: 10_000 }));
    expect(err).toBeInstanceOf(RemoteActorError);
    expect(err).toMatchObject({ remoteName: 'Error', message: `${pool.id}@w1 failed: Error: bad input` });
    // The pool actor is not harmed by a failing task.
    expect(await sys.ask(pool, { type: 'run', input: new Uint8Array([1]) }, { timeoutMs: 10_000 })).toBe(crc32(new Uint8Array([1])));
  });

  it('an actor on another node asks the pool like any other actor, results and errors alike', async () => {
    const client = await sys.spawn(PoolClient, {}, { node: 'w2' });
    const input = bytes(100_000);
    expect(await sys.ask(client, { type: 'crc', pool, input }, { timeoutMs: 10_000 })).toEqual({ ok: true, crc: crc32(input) });
    expect(await sys.ask(client, { type: 'crc', pool, input: { fail: 'nope' } }, { timeoutMs: 10_000 })).toEqual({
      ok: false,
      name: 'RemoteActorError',
      message: `${pool.id}@w1 failed: Error: nope`,
    });
  });

  it('a caller on the pool\'s own node keeps its buffer: the pool transfers a copy to its thread', async () => {
    const local = await sys.spawn(Pool, { filename, maxThreads: 1 });
    const input = bytes(4096);
    expect(await sys.ask(local, { type: 'run', input }, { timeoutMs: 10_000 })).toBe(crc32(input));
    expect(input.byteLength).toBe(4096); // not detached
    expect(Buffer.compare(input, bytes(4096))).toBe(0);
    await sys.stop(local);
  });

  it('with its queue full, the pool refuses further tasks at once instead of buffering them', async () => {
    const small = await sys.spawn(Pool, { filename, minThreads: 1, maxThreads: 1, maxQueue: 1 }, { node: 'w2' });
    const input = bytes(1 << 16);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => sys.ask(small, { type: 'run', input }, { timeoutMs: 10_000 })));
    const done = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // At most one task runs and one waits; everything beyond that is refused.
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThanOrEqual(2);
    for (const r of done) expect(r.value).toBe(crc32(input));
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(RemoteActorError);
      expect(String(r.reason.message)).toMatch(/queue/i);
    }
    expect(done.length + refused.length).toBe(8);
    await sys.stop(small);
  });
});
