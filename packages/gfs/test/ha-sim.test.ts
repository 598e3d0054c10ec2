import { describe, expect, it } from '@jest/globals';
import { SimCluster } from '@actorfs/actors/testing';
import { haCell, masterReplica, Sleeper } from './ha-harness.ts';

describe('GFS master high availability in the simulator', () => {
  it('a backup wins the master lock, writes its address there, and a client finds it through the lock service', async () => {
    const sim = new SimCluster({ seed: 1 });
    const sleeper = new Sleeper(sim);
    const cell = haCell(sim, sleeper);
    const work = (async () => {
      await cell.client.call({ type: 'mkdir', path: '/d' });
      await cell.client.call({ type: 'create', path: '/d/f' });
      return cell.client.call({ type: 'list', path: '/d' });
    })();
    expect(await sleeper.drive(work)).toEqual([{ name: 'f', kind: 'file' }]);
    const master = await sleeper.drive(masterReplica(sim, cell));
    expect(['m1', 'm2']).toContain(master);
  });
});
