import { describe, expect, it } from '@jest/globals';
import { forEachSeed } from '@actorfs/actors/testing';
import { simCell } from './fixtures/sim-cell.ts';

const config = {
  chunkSizeBytes: 64 * 1024,
  blockSizeBytes: 4096,
  heartbeatIntervalMs: 100,
  scanIntervalMs: 100,
  leaseMs: 2000,
  leaseGrantTimeoutMs: 500,
  pushPieceBytes: 4096,
  mutationTimeoutMs: 500,
  pushTimeoutMs: 1000,
  clientBackoffMs: 20,
  clientAttempts: 10,
};

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('data path on the simulator', () => {
  it('a write across chunk boundaries reads back byte for byte from every replica', async () => {
    const cell = simCell(1, config, ['A', 'B', 'C']);
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/f');
    const data = bytes(150_000, 1); // three chunks of 64 KiB
    await client.write('/f', 0, data);
    expect(await client.stat('/f')).toEqual({ kind: 'file', chunks: 3, sizeBytes: 150_000, chunkSizeBytes: 64 * 1024 });
    expect(same(await client.read('/f', 0, data.length), data)).toBe(true);
    expect(same(await client.read('/f', 60_000, 10_000), data.subarray(60_000, 70_000))).toBe(true);
    // every replica holds the same bytes
    for (const cs of cell.servers.values()) {
      const held = await cell.sim.call(cs, { type: 'inspect' });
      expect(held.map((c) => c.lengthBytes).sort((a, b) => a - b)).toEqual([150_000 - 2 * 65_536, 65_536, 65_536]);
    }
  });

  it('record appends land atomically at the offsets returned, and a record that would cross the chunk end pads it and goes to the next chunk', async () => {
    const cell = simCell(2, config, ['A', 'B', 'C']);
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/log');
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) offsets.push(await client.append('/log', bytes(10_000, i), `r${i}`));
    // six 10 KiB records fit a 64 KiB chunk; the seventh pads it and starts chunk 1
    expect(offsets[6]).toBe(64 * 1024);
    const records = [];
    for await (const r of client.records('/log')) records.push(r);
    expect(records.map((r) => r.id)).toEqual(offsets.map((_, i) => `r${i}`));
    for (const [i, r] of records.entries()) {
      expect(r.chunkIndex * 64 * 1024 + r.offset).toBe(offsets[i]);
      expect(same(r.payload, bytes(10_000, i))).toBe(true);
    }
  });

  it('bad input gets clear errors and the cell goes on serving', async () => {
    const cell = simCell(3, config, ['A', 'B', 'C']);
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/f');
    const error = (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: Error) => e.message);
    expect(await error(client.write('/f', 0, new Uint8Array(0)))).toMatch(/zero bytes/);
    expect(await error(client.write('relative', 0, bytes(10, 0)))).toMatch(/not absolute/);
    expect(await error(client.read('/a/../f', 0, 1))).toMatch(/"\.\." is not allowed/);
    expect(await error(client.read('/f', 0, 1))).toMatch(/past its end at 0/);
    expect(await error(client.append('/f', bytes(16 * 1024, 0)))).toMatch(/over the limit of 16384 bytes/);
    expect(await error(client.read('/missing', 0, 1))).toMatch(/does not exist/);
    await client.write('/f', 0, bytes(100, 0));
    expect(same(await client.read('/f', 0, 100), bytes(100, 0))).toBe(true);
  });

  it('with dropped, duplicated and reordered messages, acknowledged appends are all readable at their offsets and writes read back intact', async () => {
    // one piece per push: a stream fails on any lost or reordered piece, and the client pushes again
    await forEachSeed(5, async (seed) => {
      const cell = simCell(seed, { ...config, pushPieceBytes: 64 * 1024 }, ['A', 'B', 'C']);
      const clients = [cell.client('c1'), cell.client('c2'), cell.client('c3')];
      await cell.sim.runFor(500);
      await clients[0]!.create('/log');
      await clients[0]!.create('/data');
      cell.sim.setNetwork({ drop: 0.01, duplicate: 0.01, reorder: true, delayMs: [1, 5] });
      const acked = new Map<string, number>();
      await Promise.all(
        clients.map(async (c, ci) => {
          for (let i = 0; i < 8; i++) {
            const id = `c${ci}-${i}`;
            acked.set(id, await c.append('/log', bytes(3000 + ci * 100 + i, ci * 10 + i), id).catch(() => -1));
          }
        }),
      );
      const data = bytes(100_000, seed);
      await clients[1]!.write('/data', 0, data);
      const got = await clients[2]!.read('/data', 0, data.length);
      if (!same(got, data)) {
        const first = got.findIndex((b, i) => b !== data[i]);
        console.log('DIFF at', first, 'stat', await clients[2]!.stat('/data'));
        for (const idx of [0, 1]) {
          const loc = await cell.sim.call(cell.master(), { type: 'locate', path: '/data', index: idx });
          console.log('LOC', idx, loc);
          for (const [name, cs] of cell.servers) {
            const info = await cell.sim.call(cs, { type: 'chunk-info', handle: loc.handle });
            if (!info) { console.log(name, 'none'); continue; }
            const b = await cell.sim.call(cs, { type: 'read', handle: loc.handle, offset: 0, length: info.lengthBytes });
            const want = data.subarray(idx * 65536, idx * 65536 + b.length);
            console.log(name, info, 'firstdiff', b.findIndex((x, i) => x !== want[i]));
          }
        }
      }
      expect(same(got, data)).toBe(true);
      const seen = new Map<string, { offset: number; payload: Uint8Array }>();
      for await (const r of clients[2]!.records('/log')) seen.set(r.id, { offset: r.chunkIndex * 64 * 1024 + r.offset, payload: r.payload });
      for (const [id, offset] of acked) {
        if (offset < 0) continue;
        const [ci, i] = id.slice(1).split('-').map(Number) as [number, number];
        if (!seen.has(id)) {
          const idx = Math.floor(offset / 65536);
          const loc = await cell.sim.call(cell.master(), { type: 'locate', path: '/log', index: idx });
          console.log('MISSING', id, offset, loc);
          for (const [name, cs] of cell.servers) {
            const info = await cell.sim.call(cs, { type: 'chunk-info', handle: loc.handle });
            const b = info && info.lengthBytes >= (offset % 65536) + 30 ? await cell.sim.call(cs, { type: 'read', handle: loc.handle, offset: offset % 65536, length: 30 }) : new Uint8Array(0);
            console.log(name, info, new TextDecoder().decode(b.subarray(14, 20)));
          }
        }
        expect(seen.has(id)).toBe(true);
        expect(same(seen.get(id)!.payload, bytes(3000 + ci * 100 + i, ci * 10 + i))).toBe(true);
      }
      // every acknowledged record is intact at the very offset its append returned
      for (const [id, offset] of acked) {
        if (offset < 0) continue;
        const [ci, i] = id.slice(1).split('-').map(Number) as [number, number];
        const at = await clients[0]!.read('/log', offset, 14 + id.length + 3000 + ci * 100 + i);
        expect(new TextDecoder().decode(at.subarray(14, 14 + id.length))).toBe(id);
      }
      expect([...acked.values()].filter((o) => o >= 0).length).toBeGreaterThan(12);
    });
  }, 300_000);
});
