import { describe, expect, it } from '@jest/globals';
import { MessageChannel } from 'node:worker_threads';
import { TransferEncoder } from '../src/codec.ts';
import { ActorRef, decode, encode } from '../src/index.ts';

/** Posts bytes through a real MessagePort, transferring their buffer; resolves with what arrives. */
async function transfer(bytes: Uint8Array): Promise<Uint8Array> {
  const { port1, port2 } = new MessageChannel();
  const arrived = new Promise<Uint8Array>((resolve) => port2.once('message', resolve));
  port1.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  const out = await arrived;
  port1.close();
  port2.close();
  return out;
}

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte);

/** `bytes` decodes to { type: 'blob', data } with exactly these data bytes (compared as bytes: toEqual is slow on MiBs). */
function expectBlob(bytes: Uint8Array, data: Uint8Array): void {
  const out = decode(bytes) as { type: unknown; data: Uint8Array };
  expect(out.type).toBe('blob');
  expect(out.data).toBeInstanceOf(Uint8Array);
  expect(Buffer.compare(out.data, data)).toBe(0);
}

describe('encode and decode', () => {
  it('an ActorRef comes back as an ActorRef with the same address, wherever it sits in a message', () => {
    const ref = new ActorRef('w2', 'acceptor-1');
    const out = decode(encode({ type: 'hello', from: ref, seen: [ref, { deep: ref }] })) as {
      from: unknown;
      seen: [unknown, { deep: unknown }];
    };
    for (const r of [out.from, out.seen[0], out.seen[1].deep]) {
      expect(r).toBeInstanceOf(ActorRef);
      expect((r as ActorRef).equals(ref)).toBe(true);
      expect(String(r)).toBe('acceptor-1@w2');
    }
  });

  it('plain message data comes back equal', () => {
    const msg = { type: 'accept', ballot: [3, 'n2'], slot: 2 ** 40, ratio: -0.25, ok: true, none: null, text: 'ü✓', bytes: new Uint8Array([0, 255]) };
    expect(decode(encode(msg))).toEqual(msg);
  });

  it('encode returns bytes that own their whole buffer', () => {
    const out = encode({ type: 'x' });
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.byteLength);
  });
});

describe('TransferEncoder', () => {
  it('a small result owns exactly its ArrayBuffer: transferring it sends no more than the message', () => {
    const enc = new TransferEncoder();
    const out = enc.encode(['a1', { type: 'get' }, 0]);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.byteLength);
  });

  it('a small result is unchanged by later encodes, and transferring it leaves the encoder working', async () => {
    const enc = new TransferEncoder();
    const first = enc.encode({ type: 'first', n: 1 });
    const second = enc.encode({ type: 'second', n: 2 });
    expect(decode(first)).toEqual({ type: 'first', n: 1 });
    const arrived = await transfer(first);
    expect(first.buffer.byteLength).toBe(0); // detached: it was moved, not cloned
    expect(decode(arrived)).toEqual({ type: 'first', n: 1 });
    expect(decode(second)).toEqual({ type: 'second', n: 2 });
    expect(decode(enc.encode({ type: 'third' }))).toEqual({ type: 'third' });
  });

  it('a large result keeps the buffer it was packed into: each gets its own, which later encodes never touch', async () => {
    const enc = new TransferEncoder();
    const a = enc.encode({ type: 'blob', data: filled(64 * 1024, 1) });
    const b = enc.encode({ type: 'blob', data: filled(64 * 1024, 2) });
    expect(a.buffer).not.toBe(b.buffer);
    expectBlob(a, filled(64 * 1024, 1));
    expectBlob(await transfer(a), filled(64 * 1024, 1));
    // The encoder did not keep the transferred buffer as its scratch space.
    expect(decode(enc.encode({ type: 'small' }))).toEqual({ type: 'small' });
    expectBlob(enc.encode({ type: 'blob', data: filled(64 * 1024, 3) }), filled(64 * 1024, 3));
    expectBlob(b, filled(64 * 1024, 2));
  });

  it('a result larger than the scratch buffer is encoded whole, and the encoder carries on', async () => {
    const enc = new TransferEncoder(64 * 1024);
    const out = enc.encode({ type: 'blob', data: filled(1 << 20, 9) });
    const next = enc.encode({ type: 'blob', data: filled(1 << 20, 8) });
    expect(out.buffer).not.toBe(next.buffer);
    expectBlob(await transfer(out), filled(1 << 20, 9));
    expectBlob(next, filled(1 << 20, 8));
  });
});
