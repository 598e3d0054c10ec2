import { describe, expect, it } from '@jest/globals';
import { simCell } from './fixtures/sim-cell.ts';

const config = {
  chunkSizeBytes: 64 * 1024,
  blockSizeBytes: 4096,
  heartbeatIntervalMs: 100,
  scanIntervalMs: 100,
  leaseMs: 2000,
  leaseGrantTimeoutMs: 500,
  mutationTimeoutMs: 500,
  clonePieceBytes: 4096,
  clientBackoffMs: 20,
  clientAttempts: 10,
};
const record = (i: number): Uint8Array => new Uint8Array(1000).fill(i + 1);

describe('leases across a master restart (simulator)', () => {
  it('a restarted master does not clone a chunk whose primary may still hold a lease it forgot: every replica it names holds every acknowledged append', async () => {
    // cs4 is down at first, so the chunk lives on cs1..cs3
    const cell = simCell(7, config, ['A', 'B', 'C', 'A']);
    cell.sim.crash('cs4');
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/log');
    await client.append('/log', record(0));
    // a secondary dies: its lease revoked, the next one is granted on the two replicas left
    const first = await cell.sim.call(cell.master(), { type: 'lease', path: '/log', index: 0 });
    const secondary = first.replicas.find((r) => r !== first.primary)!;
    cell.sim.crash(secondary);
    await cell.sim.runFor(600);
    const acked = [await client.append('/log', record(1))];
    const lease = await cell.sim.call(cell.master(), { type: 'lease', path: '/log', index: 0 });
    expect(lease.replicas).toHaveLength(2);
    // the master restarts (forgetting the lease) and a clone target comes back while the primary goes on appending
    cell.sim.crash('m');
    cell.sim.restart('m');
    cell.sim.restart('cs4');
    for (let i = 2; i < 8; i++) {
      acked.push(await client.append('/log', record(i)));
      await cell.sim.runFor(100);
    }
    await cell.sim.runFor(3 * config.leaseMs);
    const located = await cell.sim.call(cell.master(), { type: 'locate', path: '/log', index: 0 });
    expect(located.replicas).toContain('cs4');
    for (const server of located.replicas) {
      const chunk = (await cell.sim.call(cell.servers.get(server)!, { type: 'inspect' })).find((c) => c.handle === located.handle)!;
      expect({ server, version: chunk.version, holdsAll: chunk.lengthBytes >= acked.at(-1)! + 1000 }).toEqual({ server, version: located.version, holdsAll: true });
    }
  });
});
