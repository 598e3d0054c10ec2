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
const CHUNK = 64 * 1024;

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

  it("reads go to a replica on the client's rack, and fall over to another when it is down", async () => {
    const readsTo: string[] = [];
    const cell = simCell(5, config, ['A', 'B', 'C'], {}, (send) => {
      if ((send.body as { type?: string } | null)?.type === 'read-data') readsTo.push(send.to.node);
    });
    const client = cell.client('c1', 'B');
    await cell.sim.runFor(300);
    await client.create('/f');
    const data = bytes(20_000, 9);
    await client.write('/f', 0, data);
    expect(same(await client.read('/f', 0, data.length), data)).toBe(true);
    expect(readsTo).toEqual(['cs2']);
    cell.sim.crash('cs2');
    expect(same(await client.read('/f', 0, data.length), data)).toBe(true);
    expect(readsTo[1]).toBe('cs2');
    expect(readsTo.slice(2).every((n) => n !== 'cs2') && readsTo.length > 2).toBe(true);
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

  it('a primary refuses mutations once its lease has run out, and an oversize record; a secondary refuses another version and applies a repeated order once', async () => {
    const cell = simCell(4, config, ['A', 'B', 'C']);
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/f');
    await client.write('/f', 0, bytes(100, 0));
    const lease = await cell.sim.call(cell.master(), { type: 'lease', path: '/f', index: 0 });
    const primary = cell.servers.get(lease.primary)!;
    const secondary = cell.servers.get(lease.replicas.find((r) => r !== lease.primary)!)!;
    const pushAll = async (dataId: string, data: Uint8Array): Promise<void> => {
      const chain = lease.replicas.map((r) => cell.servers.get(r)!);
      cell.sim.tell(chain[0]!, { type: 'push', dataId, chain: chain.slice(1), data });
      for (const ref of chain) await cell.sim.call(ref, { type: 'data-ready', dataId });
    };
    const refused = (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: Error) => e.message);
    // a record over a quarter chunk, under a running lease
    await pushAll('big', bytes(20_000, 1));
    expect(await refused(cell.sim.call(primary, { type: 'mutate', handle: lease.handle, version: lease.version, dataId: 'big', op: { kind: 'append' } }))).toMatch(/OversizeRecordError: record of 20000 bytes is over the limit of 16384/);
    // no mutation for longer than the lease: it is over at the primary
    await cell.sim.runFor(config.leaseMs + 100);
    await pushAll('late', bytes(100, 2));
    expect(await refused(cell.sim.call(primary, { type: 'mutate', handle: lease.handle, version: lease.version, dataId: 'late', op: { kind: 'write', offset: 0 } }))).toMatch(/RetryableError: chunk \d+: this server holds no lease for it/);
    // a secondary: an order for an older version is refused; an order seen twice is applied once
    const pad = { kind: 'pad', toLength: 200 } as const;
    expect(await refused(cell.sim.call(secondary, { type: 'apply', handle: lease.handle, version: lease.version - 1, run: 1, serial: 1, order: pad }))).toMatch(/is at version \d+, the order is for/);
    cell.sim.tell(secondary, { type: 'push', dataId: 'once', chain: [], data: bytes(50, 3) });
    await cell.sim.call(secondary, { type: 'data-ready', dataId: 'once' });
    const order = { type: 'apply', handle: lease.handle, version: lease.version, run: 9, serial: 1, order: { kind: 'write', offset: 100, dataId: 'once' } } as const;
    expect(await cell.sim.call(secondary, order)).toBe(true);
    expect(await cell.sim.call(secondary, order)).toBe(true); // its data was used up: applying again would fail
    expect(same(await cell.sim.call(secondary, { type: 'read-data', handle: lease.handle, version: lease.version, offset: 100, length: 100 }), bytes(50, 3))).toBe(true);
  });

  it('with dropped, duplicated and reordered messages, every acknowledged append is intact at its offset on every replica, the reader sees it, and a write reads back intact', async () => {
    // one piece per push: a stream fails on any lost or reordered piece, and the client pushes again
    await forEachSeed(4, async (seed) => {
      const cell = simCell(seed, { ...config, pushPieceBytes: 64 * 1024 }, ['A', 'B', 'C']);
      const clients = [cell.client('c1'), cell.client('c2'), cell.client('c3')];
      await cell.sim.runFor(500);
      await clients[0]!.create('/log');
      await clients[0]!.create('/data');
      cell.sim.setNetwork({ drop: 0.01, duplicate: 0.01, reorder: true, delayMs: [1, 5] });
      const payloadOf = (id: string): Uint8Array => bytes(3000 + id.length * 100 + id.charCodeAt(1) * 7, id.charCodeAt(3));
      const acked = new Map<string, number>();
      await Promise.all(
        clients.map(async (c, ci) => {
          for (let i = 0; i < 6; i++) {
            const id = `c${ci}-${i}`;
            const offset = await c.append('/log', payloadOf(id), id).catch(() => undefined);
            if (offset !== undefined) acked.set(id, offset);
          }
        }),
      );
      const data = bytes(100_000, seed);
      await clients[1]!.write('/data', 0, data);
      expect(same(await clients[2]!.read('/data', 0, data.length), data)).toBe(true);
      cell.sim.setNetwork({});
      const seen = new Map<string, Uint8Array>();
      for await (const r of clients[2]!.records('/log')) seen.set(r.id, r.payload);
      for (const [id, offset] of acked) {
        expect({ id, seen: seen.has(id) }).toEqual({ id, seen: true });
        expect(same(seen.get(id)!, payloadOf(id))).toBe(true);
        // the same record at the offset the append returned, on every live replica
        const loc = await cell.sim.call(cell.master(), { type: 'locate', path: '/log', index: Math.floor(offset / CHUNK) });
        for (const server of loc.replicas) {
          const held = await cell.sim.call(cell.servers.get(server)!, { type: 'read-data', handle: loc.handle, version: loc.version, offset: offset % CHUNK, length: 14 + id.length });
          expect({ server, id: new TextDecoder().decode(held.subarray(14)) }).toEqual({ server, id });
        }
      }
      expect(acked.size).toBeGreaterThan(12);
    });
  }, 300_000);
});
