import { describe, expect, test } from '@jest/globals';
import { LsClientError } from '../src/index.ts';
import { inSimCell, masterNode } from './cell-harness.ts';

describe('jeopardy', () => {
  test('a call made in jeopardy is held until a new master makes the session safe, then runs', async () => {
    await inSimCell(21, async ({ sim, plan, clock }, a) => {
      const { handle } = await a.open('/ls/test/l', { create: 'ifAbsent' });
      sim.crash((await masterNode(sim, plan))!);
      while ((await a.status()).state !== 'jeopardy') await clock.sleep(10);
      // Sent at once, it would go to the dead master and come back UNAVAILABLE (outcome unknown).
      const seq = await a.tryAcquire(handle, 'exclusive');
      expect(seq.lock).toBe('/ls/test/l');
      expect((await a.status()).state).toBe('live');
      const { events } = await a.watch();
      expect(events.some((e) => 'kind' in e && e.kind === 'safe' && e.failover)).toBe(true);
    }, { maxMs: 30_000 });
  });

  test('a call held in jeopardy fails SESSION_EXPIRED when the grace period ends without a master', async () => {
    await inSimCell(22, async ({ sim, plan, clock }, a) => {
      const { handle } = await a.open('/ls/test/l', { create: 'ifAbsent' });
      sim.partition(['c0'], plan.config.nodes);
      while ((await a.status()).state !== 'jeopardy') await clock.sleep(50);
      const failure = await a.tryAcquire(handle, 'exclusive').catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(LsClientError);
      expect((failure as LsClientError).code).toBe('SESSION_EXPIRED');
      expect((await a.status()).state).toBe('expired');
    }, { maxMs: 30_000 });
  });
});
