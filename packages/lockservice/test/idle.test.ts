import { describe, expect, test } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { LockDb, type CellPlan } from '../src/index.ts';
import { SIM_CELL, simCell, simClient, str, text } from './cell-harness.ts';

/** The sessions the database holds, as the first replica's learner has it. */
async function liveSessions(sim: SimCluster, plan: CellPlan): Promise<number[]> {
  const view = await sim.call(plan.paxos.learners[0]!, { type: 'inspect' });
  const db = new LockDb(plan.config.db);
  db.restore(view.state);
  return [...db.inspect().sessions.keys()];
}

const IDLE_CELL = { ...SIM_CELL, timing: { ...SIM_CELL.timing, idleSessionMs: 3_000 } };

describe('idleness', () => {
  test("the master's own Paxos session outlives the group's idle limit: a write after a long quiet spell succeeds", async () => {
    const sim = new SimCluster({ seed: 11 });
    const sessionIdleMs = 5_000;
    const plan = simCell(sim, { ...SIM_CELL, paxos: { ...SIM_CELL.paxos, sessionIdleMs } });
    const a = simClient(sim, plan, 'c0', 'a');
    const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
    // KeepAlives go on (no Paxos command), so only the master's Paxos session is idle.
    await sim.runFor(3 * sessionIdleMs);
    await a.setContents(handle, text('after a quiet spell'));
    expect(str((await a.getContentsAndStat(handle)).contents)).toBe('after a quiet spell');
    expect((await a.status()).state).toBe('live');
  });

  test('a client ends its session once it has no open handles and made no call for idleSessionMs; its next call opens a new one', async () => {
    const sim = new SimCluster({ seed: 12 });
    const plan = simCell(sim, IDLE_CELL);
    const a = simClient(sim, plan, 'c0', 'a');
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
  });

  test('a session with an open handle, or with calls, is not idle', async () => {
    const sim = new SimCluster({ seed: 13 });
    const plan = simCell(sim, IDLE_CELL);
    const [a, b] = [simClient(sim, plan, 'c0', 'a'), simClient(sim, plan, 'c1', 'b')];
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
  });
});
