import { describe, expect, test } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { SIM_CELL, simCell, simClient } from './cell-harness.ts';

describe('finding the master', () => {
  test('a client takes the first server that names the master, not waiting out one that is cut off', async () => {
    const sim = new SimCluster({ seed: 7 });
    const plan = simCell(sim);
    await simClient(sim, plan, 'warm', 'warm-up').open('/ls/test/warm', { create: 'ifAbsent' });
    const master = (await sim.call(plan.servers[0]!, { type: 'whoIsMaster' })).master?.node;
    expect(master).toBeDefined();
    const cutOff = plan.servers.find((s) => s.node !== master)!;
    sim.addNode('c');
    sim.partition(['c'], [cutOff.node]);

    const startedAt = sim.now();
    const opened = await simClient(sim, plan, 'c', 'newcomer').open('/ls/test/f', { create: 'ifAbsent' });
    expect(opened.handle).toBeDefined();
    // Simulated time: the search ends with the first answers, well before the cut-off server's
    // ask would time out (the old search waited for every answer).
    expect(sim.now() - startedAt).toBeLessThan(SIM_CELL.timing!.requestTimeoutMs!);
  });
});
