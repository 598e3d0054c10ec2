import { describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import { Pool, RemoteActorError } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';
import { PoolClient } from './fixtures/pool-client.ts';
import { rejectionOf } from './helpers.ts';

const filename = new URL('./fixtures/crc-task.ts', import.meta.url).href;

async function run(seed: number): Promise<{ results: unknown[]; times: number[]; hash: string }> {
  const sim = new SimCluster({ seed, nodes: ['a', 'b'], poolTaskMs: [5, 50] });
  const pool = sim.spawn('a', Pool, { filename, maxThreads: 2 });
  const client = sim.spawn('b', PoolClient, {});
  const results: unknown[] = [];
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const input = new Uint8Array(1000).fill(i);
    void sim.ask(client, { type: 'crc', pool, input }).then((r) => {
      results.push(r);
      times.push(sim.now());
    });
  }
  await sim.runFor(1_000);
  return { results, times, hash: sim.traceHash() };
}

describe('Pool in the simulator', () => {
  it('an actor that uses a pool runs unchanged: the task runs in the simulation, results arrive after a simulated cost', async () => {
    const { results, times } = await run(1);
    expect(results).toHaveLength(6);
    const expected = Array.from({ length: 6 }, (_, i) => ({ ok: true, crc: crc32(new Uint8Array(1000).fill(i)) }));
    expect([...results].sort((x, y) => (x as { crc: number }).crc - (y as { crc: number }).crc)).toEqual(
      [...expected].sort((x, y) => x.crc - y.crc),
    );
    // Two threads, six tasks of at least 5 ms each: the last finishes no sooner than 15 ms in.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(15);
  });

  it('is deterministic: the same seed gives the same run, another seed another', async () => {
    const one = await run(7);
    const two = await run(7);
    const other = await run(8);
    expect(two.hash).toBe(one.hash);
    expect(two.times).toEqual(one.times);
    expect(other.times).not.toEqual(one.times);
  });

  it('a task that throws fails the ask; a full queue refuses at once', async () => {
    const sim = new SimCluster({ seed: 3, nodes: ['a'] });
    const pool = sim.spawn('a', Pool, { filename, maxThreads: 1, maxQueue: 1 });
    const failed = rejectionOf(sim.ask(pool, { type: 'run', input: { fail: 'bad input' } }));
    const queued = sim.ask(pool, { type: 'run', input: new Uint8Array([1]) });
    const refused = rejectionOf(sim.ask(pool, { type: 'run', input: new Uint8Array([2]) }));
    await sim.runFor(100);
    expect(await failed).toBeInstanceOf(RemoteActorError);
    expect((await failed).message).toMatch(/bad input/);
    expect(await queued).toBe(crc32(new Uint8Array([1])));
    expect((await refused).message).toMatch(/queue/i);
  });
});
