import { describe, expect, test } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { SIM_CELL, simCell, simClient, str, text } from './cell-harness.ts';

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
});
