import { describe, expect, test } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { LsClientError } from '../src/index.ts';
import { simCell, simClient, str, text } from './cell-harness.ts';

describe('lock-service cell in the simulator', () => {
  test('a client opens a session, writes, reads (then from its cache), locks and unlocks', async () => {
    const sim = new SimCluster({ seed: 1 });
    const plan = simCell(sim);
    const a = simClient(sim, plan, 'c0', 'a');
    const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
    await a.setContents(handle, text('one'));
    const first = await a.getContentsAndStat(handle);
    expect(str(first.contents)).toBe('one');
    expect(first.stat.contentGeneration).toBe(1);
    expect(first.cached).toBe(true);
    const seq = await a.tryAcquire(handle, 'exclusive');
    expect(seq.lock).toBe('/ls/test/f');
    await a.checkSequencer(seq);
    await a.release(handle);
    await expect(a.release(handle)).rejects.toMatchObject({ code: 'NOT_HELD' });
    await expect(a.setContents(handle, text('x'), 7)).rejects.toBeInstanceOf(LsClientError);
  });
});
