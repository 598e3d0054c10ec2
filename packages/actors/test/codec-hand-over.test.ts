import { describe, expect, it } from '@jest/globals';
import { MessageChannel } from 'node:worker_threads';
import { decodeTransferred, TransferEncoder } from '../src/codec.ts';
import { handOver } from '../src/index.ts';

/** Encodes a batch and posts it through a real MessagePort as a transport does; resolves with what arrives, decoded. */
async function carry(value: unknown): Promise<unknown> {
  const { bytes, binaries } = new TransferEncoder().encode(value);
  const { port1, port2 } = new MessageChannel();
  const arrived = new Promise<[Uint8Array, ArrayBuffer[]]>((resolve) => port2.once('message', resolve));
  port1.postMessage([bytes, binaries], [bytes.buffer as ArrayBuffer, ...binaries]);
  const [b, bins] = await arrived;
  port1.close();
  return decodeTransferred(b, bins);
}

const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('handing bytes over to another thread', () => {
  it('a handed-over array crosses as it is: its buffer moves (the sender is left with none), the receiver gets the bytes', async () => {
    const given = handOver(filled(64 * 1024, 7));
    const kept = filled(64 * 1024, 9);
    const got = (await carry({ pieces: [given, kept] })) as { pieces: Uint8Array[] };
    expect(got.pieces.map((p) => [p.length, p[0], p[p.length - 1]])).toEqual([
      [64 * 1024, 7, 7],
      [64 * 1024, 9, 9],
    ]);
    // moved, not copied: the sender's array lost its buffer; the other one was copied and is intact
    expect(given.length).toBe(0);
    expect(kept.length).toBe(64 * 1024);
  });

  it('a view into a larger buffer is copied even when handed over (moving it would take the rest of the buffer)', async () => {
    const whole = filled(128 * 1024, 3);
    const view = handOver(whole.subarray(0, 64 * 1024));
    const got = (await carry(view)) as Uint8Array;
    expect([got.length, got[0]]).toEqual([64 * 1024, 3]);
    expect([whole.length, view.length]).toEqual([128 * 1024, 64 * 1024]);
  });

  it('an array handed over once moves once: the same array sent again in the same batch is copied', async () => {
    const given = handOver(filled(8192, 5));
    const got = (await carry([given, given])) as Uint8Array[];
    expect(got.map((p) => [p.length, p[0]])).toEqual([
      [8192, 5],
      [8192, 5],
    ]);
  });
});
