import { describe, expect, test } from '@jest/globals';
import { SimCluster, Sleeper } from '@actorfs/actors/testing';
import { Backoff } from '../src/backoff.ts';
import { simCell, simClient } from './cell-harness.ts';

describe('retry backoff', () => {
  test('delays double up to the cap, each drawn in the upper half of its step', () => {
    const draws = [0, 0.999, 0.5, 0, 0.999, 0.25, 0];
    const b = new Backoff(50, 300, () => draws.shift()!);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([25, 100, 150, 150, 300, 188]);
    b.reset();
    expect(b.next()).toBe(25);
  });

  test('while no master can be elected, a client asks the servers who the master is a bounded number of times, not 20 times a second', async () => {
    const sim = new SimCluster({ seed: 31 });
    const plan = simCell(sim);
    const clock = new Sleeper(sim);
    const a = simClient(sim, plan, 'c0', 'a', 'ask');
    const run = async () => {
      await a.open('/ls/test/b', { create: 'ifAbsent' });
      // The replicas answer the client at once, but none can reach another: no master.
      const nodes = plan.config.nodes;
      nodes.forEach((n) => sim.partition([n], nodes.filter((m) => m !== n)));
      const sentBefore = sim.node('c0').stats().messagesOut;
      const cutAt = sim.now();
      while ((await a.status()).state !== 'expired') await clock.sleep(50);
      const sent = sim.node('c0').stats().messagesOut - sentBefore;
      const seconds = (sim.now() - cutAt) / 1000;
      // A round asks all 5 servers who the master is (and a KeepAlive goes to the one a server
      // names, which refuses it). Every 50 ms that is about 120 messages a second; backing off to a
      // quarter lease (250 ms here) about 35 (measured 34; 98 without the backoff).
      expect(seconds).toBeGreaterThan(3);
      expect(sent / seconds).toBeLessThan(50);
    };
    const done = run();
    expect(await clock.run(done, 30_000)).toBe(true);
    await done;
  });
});
