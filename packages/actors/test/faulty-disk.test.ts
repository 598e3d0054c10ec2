import { describe, expect, it } from '@jest/globals';
import { RemoteActorError } from '../src/index.ts';
import { FaultyDisk, SimCluster } from '../src/testing/index.ts';
import { Vault } from './fixtures/disk-kinds.ts';

describe('a faulty simulated disk', () => {
  it('a flipped byte in a stored value is an error to the reading actor, never wrong data', async () => {
    const sim = new SimCluster({ seed: 11, nodes: ['a'], disk: { corruptWrite: 0.5 } });
    const vault = sim.spawn('a', Vault, {}, { name: 'v', supervision: { onFailure: 'resume' } });
    for (let i = 0; i < 20; i++) expect(await sim.call(vault, { type: 'set', key: `k${i}`, value: `value ${i}` })).toBe(true);
    let corrupt = 0;
    for (let i = 0; i < 20; i++) {
      const read = sim.call(vault, { type: 'read', key: `k${i}` });
      try {
        expect(await read).toBe(`value ${i}`);
      } catch (err) {
        expect(err).toBeInstanceOf(RemoteActorError);
        expect((err as Error).message).toMatch(/DiskError: simulated disk: checksum mismatch/);
        corrupt++;
      }
    }
    expect(corrupt).toBe((sim.store('a') as FaultyDisk).injected.corruptWrite);
    expect(corrupt).toBeGreaterThan(0);
  });

  it('a failed read fails the actor\'s turn with the disk\'s error; the actor serves on', async () => {
    const sim = new SimCluster({ seed: 12, nodes: ['a'], disk: { failRead: 0.5 } });
    const vault = sim.spawn('a', Vault, {}, { name: 'v', supervision: { onFailure: 'resume' } });
    await sim.call(vault, { type: 'set', key: 'k', value: 'v' });
    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push(await sim.call(vault, { type: 'read', key: 'k' }).catch((e: Error) => e.message));
    const failed = outcomes.filter((o) => o !== 'v');
    expect(failed.length).toBe((sim.store('a') as FaultyDisk).injected.failRead);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f).toMatch(/DiskError: simulated disk: read failed/);
    expect(outcomes.length - failed.length).toBeGreaterThan(0);
  });

  it('failed commits and crashes before a sync never acknowledge what was lost: every acknowledged write is there after restart', async () => {
    const sim = new SimCluster({ seed: 13, nodes: ['a'], fsyncMs: [2, 10], disk: { failCommit: 0.3 } });
    let vault = sim.spawn('a', Vault, {}, { name: 'v' });
    const acked = new Map<string, string>();
    const written = new Map<string, string[]>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 30; i++) {
        const key = `k${i % 10}`;
        const value = `r${round} i${i}`;
        written.set(key, [...(written.get(key) ?? []), value]);
        void sim.ask(vault, { type: 'set', key, value }, { timeoutMs: 100_000 }).then(
          () => acked.set(key, value),
          () => undefined,
        );
        await sim.runFor(1);
      }
      sim.crash('a'); // whatever was not synced is lost, including the commits still being retried
      sim.restart('a');
      vault = sim.spawn('a', Vault, {}, { name: 'v' });
      // Each key holds its acknowledged value or a later write (durable, its ack not yet home).
      for (const [key, value] of acked) {
        const stored = await sim.call(vault, { type: 'read', key });
        const order = written.get(key)!;
        expect(order.indexOf(stored!)).toBeGreaterThanOrEqual(order.indexOf(value));
      }
    }
    expect((sim.store('a') as FaultyDisk).injected.failCommit).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(0);
  });

  it('is deterministic: the same seed injects the same faults', async () => {
    const run = async () => {
      const sim = new SimCluster({ seed: 14, nodes: ['a'], disk: { corruptWrite: 0.2, failRead: 0.2, failCommit: 0.2 } });
      const vault = sim.spawn('a', Vault, {}, { name: 'v' });
      const out: unknown[] = [];
      for (let i = 0; i < 10; i++) out.push(await sim.call(vault, { type: 'set', key: `k${i}`, value: 'x' }).catch((e: Error) => e.name));
      for (let i = 0; i < 10; i++) out.push(await sim.call(vault, { type: 'read', key: `k${i}` }).catch((e: Error) => e.message));
      return { out, hash: sim.traceHash(), injected: { ...(sim.store('a') as FaultyDisk).injected } };
    };
    const one = await run();
    expect(await run()).toEqual(one);
  });

  it('without disk faults the store is a plain MemoryStore', () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    expect(sim.store('a')).not.toBeInstanceOf(FaultyDisk);
  });
});
