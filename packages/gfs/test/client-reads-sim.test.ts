import { describe, expect, it } from '@jest/globals';
import type { SimSend } from '@actorfs/actors/testing';
import { GfsClient } from '../src/client/api.ts';
import type { ClientMsg } from '../src/client/protocol.ts';
import { MAX_READ_CALL_BYTES } from '../src/client/file-ops.ts';
import { simCell } from './fixtures/sim-cell.ts';

/** Small chunks, blocks and read pieces, so a few KiB cross many of each; a fast heartbeat, so servers register at once. */
const config = { chunkSizeBytes: 64 * 1024, blockSizeBytes: 4096, readPieceBytes: 8192, pushPieceBytes: 4096, heartbeatIntervalMs: 100, leaseMs: 2000 };

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);
const joined = (pieces: Uint8Array[]): Buffer => Buffer.concat(pieces);
const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: Error) => e.message);

/** A cell whose sends of the given types are counted (by type). */
function countingCell(seed: number, types: string[]): { cell: ReturnType<typeof simCell>; sent: Map<string, number> } {
  const sent = new Map<string, number>();
  const cell = simCell(seed, config, ['A', 'B', 'C'], {}, (send: SimSend) => {
    const type = (send.body as { type?: string } | null)?.type;
    if (type !== undefined && types.includes(type)) sent.set(type, (sent.get(type) ?? 0) + 1);
  });
  return { cell, sent };
}

/** A client whose calls of 8 KiB (reads and writes alike) go callsInFlight at once. */
function smallCalls(cell: ReturnType<typeof simCell>, name: string, callsInFlight = 4): GfsClient {
  return new GfsClient(cell.client(name).session, (ref, msg, opts) => cell.settle(cell.sim.ask(ref, msg as ClientMsg & { type: 'read' }, opts)), { callBytes: 8192, callsInFlight });
}

describe('client reads: the file length each read must reach', () => {
  it('the calls of one large read ask the master and the last chunk\'s replicas for the length only until it is known; a read past the end is still refused', async () => {
    const { cell, sent } = countingCell(21, ['stat', 'chunk-info']);
    // one call at a time, so what each asks is known
    const client = smallCalls(cell, 'c1', 1);
    await cell.sim.runFor(300);
    await client.create('/f');
    const data = bytes(100_000, 1); // two chunks, the last of 34,464 bytes
    await client.write('/f', 0, data);
    sent.clear();
    // 13 calls of 8 KiB: the first learns that chunk 0 is full, the first into chunk 1 its length; the rest ask nothing
    expect(joined(await client.readPieces('/f', 0, data.length)).equals(Buffer.from(data))).toBe(true);
    expect(sent.get('stat')).toBe(2);
    expect(sent.get('chunk-info')).toBe(3);
    sent.clear();
    // again: the length seen is trusted (for locationCacheMs), nothing is asked
    expect(joined(await client.readPieces('/f', 0, data.length)).equals(Buffer.from(data))).toBe(true);
    expect(sent.get('stat') ?? 0).toBe(0);
    expect(sent.get('chunk-info') ?? 0).toBe(0);
    // past the length seen, the session asks again, and the end still refuses
    expect(await refusal(client.read('/f', 99_000, 2000))).toMatch(/read of \/f \[99000, 101000\) is past its end at 100000/);
    expect(sent.get('stat')).toBe(1);
  });

  it('a length seen is a lower bound: a read into what another client wrote since is answered, and past the new end refused', async () => {
    const cell = simCell(22, config, ['A', 'B', 'C']);
    const reader = smallCalls(cell, 'c1');
    const writer = cell.client('c2');
    await cell.sim.runFor(300);
    await writer.create('/f');
    const data = bytes(120_000, 2);
    await writer.write('/f', 0, data.subarray(0, 100_000));
    expect(Buffer.from(await reader.read('/f', 0, 100_000)).equals(Buffer.from(data.subarray(0, 100_000)))).toBe(true);
    await writer.write('/f', 100_000, data.subarray(100_000));
    expect(Buffer.from(await reader.read('/f', 90_000, 30_000)).equals(Buffer.from(data.subarray(90_000)))).toBe(true);
    expect(await refusal(reader.read('/f', 0, 130_000))).toMatch(/GfsClientError: read of \/f \[\d+, \d+\) is past its end at 120000$/);
  });

  it('a file this session deletes and makes anew, shorter, is measured again: a read past its new end is refused', async () => {
    const cell = simCell(23, config, ['A', 'B', 'C']);
    const client = smallCalls(cell, 'c1');
    await cell.sim.runFor(300);
    await client.create('/f');
    await client.write('/f', 0, bytes(100_000, 3));
    await client.read('/f', 0, 100_000);
    await client.delete('/f');
    await client.create('/f');
    await client.write('/f', 0, bytes(10_000, 4));
    expect(await refusal(client.read('/f', 0, 50_000))).toMatch(/GfsClientError: read of \/f \[\d+, \d+\) is past its end at 10000$/);
    expect(Buffer.from(await client.read('/f', 0, 10_000)).equals(Buffer.from(bytes(10_000, 4)))).toBe(true);
  });
});

describe('client reads: calls and answers', () => {
  it('reads go to the session in calls of readCallBytes (writes keep callBytes), every byte in its place, a short file in one call', async () => {
    const cell = simCell(24, config, ['A', 'B', 'C']);
    const calls = new Map<string, number>();
    const client = new GfsClient(
      cell.client('c1').session,
      (ref, msg, opts) => {
        calls.set(msg.type, (calls.get(msg.type) ?? 0) + 1);
        return cell.settle(cell.sim.ask(ref, msg as ClientMsg & { type: 'read' }, opts));
      },
      { callBytes: 5_000, readCallBytes: 20_000 },
    );
    await cell.sim.runFor(300);
    await client.create('/f');
    const data = bytes(150_000, 5); // three chunks: calls of 20,000 cross chunk boundaries
    await client.write('/f', 0, data);
    expect(calls.get('write')).toBe(30);
    expect(Buffer.from(await client.read('/f', 0, data.length)).equals(Buffer.from(data))).toBe(true);
    expect(calls.get('read-pieces')).toBe(8);
    const streamed: Uint8Array[] = [];
    for await (const piece of client.readStream('/f')) streamed.push(piece);
    expect(streamed.map((p) => p.length)).toEqual([...Array<number>(7).fill(20_000), 10_000]);
    expect(joined(streamed).equals(Buffer.from(data))).toBe(true);
    await client.create('/short');
    await client.write('/short', 0, data.subarray(0, 3_000));
    calls.clear();
    expect(Buffer.from(await client.read('/short', 0, 3_000)).equals(Buffer.from(data.subarray(0, 3_000)))).toBe(true);
    expect([...calls]).toEqual([['read', 1]]);
  });

  it('readCallBytes must be a positive integer within the session\'s limit per call; callBytes above that limit caps reads at it', () => {
    const cell = simCell(25, config, ['A']);
    const session = cell.client('c1').session;
    const ask = (): Promise<unknown> => Promise.resolve(undefined);
    expect(() => new GfsClient(session, ask, { readCallBytes: 0 })).toThrow(/readCallBytes must be an integer from 1 to/);
    expect(() => new GfsClient(session, ask, { readCallBytes: MAX_READ_CALL_BYTES + 1 })).toThrow(/readCallBytes must be an integer from 1 to/);
    expect(() => new GfsClient(session, ask, { callBytes: 64 * 1024 * 1024 })).not.toThrow();
  });

  it('a replica answers a read in one array (moved whole to the reader\'s thread), each block verified first', async () => {
    const cell = simCell(26, config, ['A', 'B', 'C']);
    const client = cell.client('c1');
    await cell.sim.runFor(300);
    await client.create('/f');
    const data = bytes(30_000, 6);
    await client.write('/f', 0, data);
    const loc = await cell.settle(cell.sim.call(cell.master(), { type: 'locate', path: '/f', index: 0 }));
    for (const server of cell.servers.values()) {
      const pieces = await cell.settle(cell.sim.call(server, { type: 'read-data', handle: loc.handle, version: loc.version, offset: 1000, length: 20_000 }));
      expect(pieces.length).toBe(1);
      expect(Buffer.from(pieces[0]!).equals(Buffer.from(data.subarray(1000, 21_000)))).toBe(true);
    }
  });
});
