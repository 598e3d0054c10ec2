import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorSystem, ControlTimeoutError } from '../src/index.ts';
import { Stuck } from './fixtures/hardening-kinds.ts';
import { holdThread } from './hold-thread.ts';
import { rejectionOf, runScenario, within } from './helpers.ts';

const modules = [new URL('./fixtures/hardening-kinds.ts', import.meta.url)];
let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['w1', 'w2', 'w3'], modules, controlTimeoutMs: 500, shutdownGraceMs: 500 });
});

afterAll(async () => {
  await within(sys.shutdown());
});

describe('a node held by a busy actor', () => {
  it('stats and spawn fail by their deadline with an error naming the node, and the other nodes answer', async () => {
    await holdThread(sys, 'w1');
    const stats = await rejectionOf(within(sys.stats('w1')));
    expect(stats).toBeInstanceOf(ControlTimeoutError);
    expect(stats.message).toBe('node w1 did not answer stats within 500 ms (is an actor on it in a long synchronous loop?)');
    const spawn = await rejectionOf(within(sys.spawn(Stuck, {}, { node: 'w1' })));
    expect(spawn).toMatchObject({ name: 'ControlTimeoutError', node: 'w1', call: 'spawn' });
    expect((await sys.stats('w2')).node).toBe('w2');
  });

  it('stopNode ends it all the same: the thread is terminated after the grace period, and the result says so', async () => {
    expect(await within(sys.stopNode('w1'))).toBe('terminated');
    expect(sys.nodes()).not.toContain('w1');
  });

  it('crashNode ends it all the same', async () => {
    await holdThread(sys, 'w2');
    await within(sys.crashNode('w2'));
    expect(sys.nodes()).not.toContain('w2');
  });

  it('a node that is not held stops gracefully', async () => {
    await expect(sys.killNode('w3', Number.NaN)).rejects.toThrow(/killNode: killGraceMs: NaN is not a number of ms/);
    expect(await sys.stopNode('w3')).toBe('graceful');
  });
});

describe('shutdown', () => {
  it('called twice, does the work once and gives both callers the same report', async () => {
    const other = await ActorSystem.start({ workers: ['w1'], modules });
    const [a, b] = await Promise.all([other.shutdown(), other.shutdown()]);
    expect(a).toEqual({ graceful: ['w1'], terminated: [] });
    expect(b).toBe(a);
  });

  it('always ends: a held node is terminated and named in the report, a pending ask fails at once, and the process exits by itself', async () => {
    const run = await runScenario('stuck-shutdown', { limitMs: 100_000 });
    expect(run.results).toEqual([
      {
        report: { graceful: [], terminated: ['w1'] },
        pending: expect.stringMatching(/^DeliveryError: cannot deliver to ~\w+@w1: node-down/),
      },
    ]);
    expect(run.code).toBe(0);
  });
});
