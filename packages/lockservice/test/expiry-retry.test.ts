import { describe, expect, test } from '@jest/globals';
import { inSimCell, masterNode, SIM_CELL } from './cell-harness.ts';

describe('session expiry within one master term', () => {
  test("an expiry whose answer is lost is proposed again, and a blocking acquire of the expired holder's lock is granted", async () => {
    // A Paxos lease long enough for the master to keep its term while its links are slow, and a
    // request timeout shorter than a slow commit, so the expiry's answer comes too late.
    const cell = { ...SIM_CELL, timing: { ...SIM_CELL.timing, requestTimeoutMs: 300 }, paxos: { leaseMs: 3000 } };
    await inSimCell(41, async ({ sim, plan, clock }, a, b) => {
      const ha = (await a.open('/ls/test/lock', { create: 'ifAbsent' })).handle;
      await a.tryAcquire(ha, 'exclusive');
      const hb = (await b.open('/ls/test/lock')).handle;
      const m = (await masterNode(sim, plan))!;
      const waiting = b.acquire(hb, 'exclusive', 20_000);
      await clock.sleep(100);
      // a goes silent; while its lease runs out, the master's commits take longer than its timeout.
      sim.partition(['c0'], [...plan.config.nodes, 'c1']);
      for (const n of plan.config.nodes) if (n !== m) sim.setLink(m, n, { delayMs: [500, 500] });
      await clock.sleep(2_500);
      for (const n of plan.config.nodes) if (n !== m) sim.setLink(m, n, {});
      const seq = await waiting;
      expect(seq.lock).toBe('/ls/test/lock');
      expect(await masterNode(sim, plan)).toBe(m);
    }, { clients: 2, cell });
  });
});
