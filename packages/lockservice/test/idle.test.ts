import { describe, expect, test } from '@jest/globals';
import type { SimCluster } from '@actorfs/actors/testing';
import type { CellPlan } from '../src/index.ts';
import { cellDb, inSimCell, SIM_CELL, str, text } from './cell-harness.ts';

/** The sessions the database holds, as the first replica has it. */
async function liveSessions(sim: SimCluster, plan: CellPlan): Promise<number[]> {
  return [...(await cellDb(sim, plan, 'call')).inspect().sessions.keys()];
}

const IDLE_CELL = { ...SIM_CELL, timing: { ...SIM_CELL.timing, idleSessionMs: 3_000 } };

describe('idleness', () => {
  test("the master's own Paxos session outlives the group's idle limit: a write after a long quiet spell succeeds", async () => {
    const sessionIdleMs = 5_000;
    await inSimCell(11, async ({ sim }, a) => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      // KeepAlives go on (no Paxos command), so only the master's Paxos session is idle.
      await sim.runFor(3 * sessionIdleMs);
      await a.setContents(handle, text('after a quiet spell'));
      expect(str((await a.getContentsAndStat(handle)).contents)).toBe('after a quiet spell');
      expect((await a.status()).state).toBe('live');
    }, { cell: { ...SIM_CELL, paxos: { ...SIM_CELL.paxos, sessionIdleMs } }, mode: 'drive' });
  });

  test('a client ends its session once it has no open handles and made no call for idleSessionMs; its next call opens a new one', async () => {
    await inSimCell(12, async ({ sim, plan }, a) => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      const first = (await a.status()).session!;
      await a.close(handle);
      await sim.runFor(2_000);
      expect(await liveSessions(sim, plan)).toEqual([first]);
      await sim.runFor(1_500);
      expect((await a.status()).state).toBe('idle');
      expect(await liveSessions(sim, plan)).toEqual([]);
      const again = await a.open('/ls/test/f');
      expect(str((await a.getContentsAndStat(again.handle)).contents)).toBe('');
      const second = (await a.status()).session!;
      expect(second).not.toBe(first);
      expect(await liveSessions(sim, plan)).toEqual([second]);
    }, { cell: IDLE_CELL, mode: 'drive' });
  });

  test('a session with an open handle, or with calls, is not idle', async () => {
    await inSimCell(13, async ({ sim, plan }, a, b) => {
      await a.open('/ls/test/f', { create: 'ifAbsent' });
      const dir = (await b.open('/ls/test', { kind: 'dir' })).handle;
      await b.close(dir);
      for (let i = 0; i < 6; i++) {
        await sim.runFor(1_000);
        await b.checkSequencer({ lock: '/ls/test/f', mode: 'exclusive', generation: 0 }).catch(() => undefined);
      }
      expect((await a.status()).state).toBe('live');
      expect((await b.status()).state).toBe('live');
      expect((await liveSessions(sim, plan)).length).toBe(2);
    }, { clients: 2, cell: IDLE_CELL, mode: 'drive' });
  });
});
