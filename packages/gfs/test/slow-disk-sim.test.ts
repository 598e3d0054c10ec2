import { describe, expect, it } from '@jest/globals';
import { simCell } from './fixtures/sim-cell.ts';

const MIB = 1024 * 1024;
const config = {
  chunkSizeBytes: 4 * MIB,
  heartbeatIntervalMs: 200,
  serverTimeoutMs: 10_000,
  scanIntervalMs: 200,
  leaseMs: 10_000,
  leaseGrantTimeoutMs: 500,
  mutationTimeoutMs: 20_000,
  pushTimeoutMs: 20_000,
  clientBackoffMs: 20,
};

describe('a slow disk under bulk writes', () => {
  // KNOWN FAILURE (issue 11, the 'no live replica' stall): a chunkserver acknowledges a version
  // raise only once every write queued before it in the chunk domain is synced; here that outlasts
  // the grant timeout and the lease request fails with 'no replica answered the version raise
  // yet'. Storing versions in a domain of their own fixes this test but breaks a clone's
  // crash-safety (its final version must not become durable before its blocks). Turn this into
  // `it` with the fix.
  it.failing("a version raise is answered within the grant timeout even while its chunkservers' disks hold many MiB of writes before it", async () => {
    // every commit takes 150 to 250 virtual ms to sync: the chunkservers' bulk writes queue up behind each other
    const cell = simCell(3, config, ['A', 'B', 'C'], {}, undefined, { fsyncMs: [200, 300] });
    const writer = cell.client('writer');
    const other = cell.client('other');
    await cell.sim.runFor(500);
    await writer.create('/bulk');
    await other.create('/small');
    await cell.settle(cell.sim.ask(cell.master(), { type: 'add-chunk', path: '/small', index: 0 }));
    // 48 MiB at once (12 chunks of 4 MiB, a mutation each on every server), not awaited
    let done = 0;
    for (let i = 0; i < 12; i++) {
      const data = new Uint8Array(4 * MIB).fill(i + 1);
      void cell.sim.ask(writer.session, { type: 'write', path: '/bulk', offset: i * 4 * MIB, data }, { timeoutMs: 600_000 }).then(() => done++);
    }
    const written = (): boolean => done === 12;
    await cell.sim.runFor(3000);
    expect(written()).toBe(false); // the disks are still busy with it
    // a lease on another chunk of the same servers: its raise must not wait for those writes' syncs
    const lease = await cell.settle(cell.sim.ask(cell.master(), { type: 'lease', path: '/small', index: 0 }, { timeoutMs: 60_000 }).then(
      (l) => ({ replicas: l.replicas.length }),
      (err: Error) => ({ error: err.message }),
    ));
    expect(lease).toEqual({ replicas: 3 });
    await cell.sim.runUntil(written, { maxMs: 120_000 });
    expect(written()).toBe(true);
  }, 120_000);
});
