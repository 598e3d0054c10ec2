import { describe, expect, test } from '@jest/globals';
import { SimCluster, Sleeper } from '@actorfs/actors/testing';
import type { OpCommand } from '@actorfs/paxos';
import type { LsOp } from '../src/index.ts';
import { simCell, simClient } from './cell-harness.ts';

/** More clients than the 64 commands one Paxos session had in flight before. */
const CLIENTS = 150;

describe("the master's commands share Paxos slots", () => {
  test('concurrent clients’ acquires are batched into a few slots, more than 64 of them in one', async () => {
    const sim = new SimCluster({ seed: 5 });
    const plan = simCell(sim);
    const clients = Array.from({ length: CLIENTS }, (_, i) => simClient(sim, plan, 'c0', `c${i}`, 'ask'));
    const sleeper = new Sleeper(sim);
    const handles: number[] = [];
    const opened = Promise.all(clients.map(async (c, i) => (handles[i] = (await c.open(`/ls/test/l${i}`, { create: 'ifAbsent' })).handle)));
    expect(await sleeper.run(opened, 60_000)).toBe(true);

    const acquired = Promise.all(clients.map((c, i) => c.tryAcquire(handles[i]!, 'exclusive')));
    expect(await sleeper.run(acquired, 60_000)).toBe(true);

    const learner = plan.paxos.learners[0]!;
    const view = await sim.call(learner, { type: 'inspect' });
    const perSlot = view.log
      .map(([, value]) => value.cmds.filter((c): c is OpCommand => c.type === 'op' && (c.op as LsOp).type === 'acquire').length)
      .filter((n) => n > 0);
    expect(perSlot.reduce((a, b) => a + b, 0)).toBe(CLIENTS);
    expect(perSlot.length).toBeLessThanOrEqual(CLIENTS / 10);
    expect(Math.max(...perSlot)).toBeGreaterThan(64);
  });
});
