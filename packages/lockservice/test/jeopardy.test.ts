import { describe, expect, test } from '@jest/globals';
import { SimCluster, Sleeper } from '@actorfs/actors/testing';
import { LsClientError } from '../src/index.ts';
import { masterNode, simCell, simClient } from './cell-harness.ts';

describe('jeopardy', () => {
  test('a call made in jeopardy is held until a new master makes the session safe, then runs', async () => {
    const sim = new SimCluster({ seed: 21 });
    const plan = simCell(sim);
    const clock = new Sleeper(sim);
    const a = simClient(sim, plan, 'c0', 'a', 'ask');
    const run = async () => {
      const { handle } = await a.open('/ls/test/l', { create: 'ifAbsent' });
      sim.crash((await masterNode(sim, plan))!);
      while ((await a.status()).state !== 'jeopardy') await clock.sleep(10);
      // Sent at once, it would go to the dead master and come back UNAVAILABLE (outcome unknown).
      const seq = await a.tryAcquire(handle, 'exclusive');
      expect(seq.lock).toBe('/ls/test/l');
      expect((await a.status()).state).toBe('live');
      const { events } = await a.watch();
      expect(events.some((e) => 'kind' in e && e.kind === 'safe' && e.failover)).toBe(true);
    };
    const done = run();
    expect(await clock.run(done, 30_000)).toBe(true);
    await done;
  });

  test('a call held in jeopardy fails SESSION_EXPIRED when the grace period ends without a master', async () => {
    const sim = new SimCluster({ seed: 22 });
    const plan = simCell(sim);
    const clock = new Sleeper(sim);
    const a = simClient(sim, plan, 'c0', 'a', 'ask');
    const run = async () => {
      const { handle } = await a.open('/ls/test/l', { create: 'ifAbsent' });
      sim.partition(['c0'], plan.config.nodes);
      while ((await a.status()).state !== 'jeopardy') await clock.sleep(50);
      const failure = await a.tryAcquire(handle, 'exclusive').catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(LsClientError);
      expect((failure as LsClientError).code).toBe('SESSION_EXPIRED');
      expect((await a.status()).state).toBe('expired');
    };
    const done = run();
    expect(await clock.run(done, 30_000)).toBe(true);
    await done;
  });
});
