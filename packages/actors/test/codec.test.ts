import { describe, expect, it } from '@jest/globals';
import { MessageChannel } from 'node:worker_threads';
import { decodeTransferred, EncodedBody, encodeValue, TransferEncoder } from '../src/codec.ts';
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

const text = (length: number, ch: string) => ch.repeat(length);

function expectText(bytes: Uint8Array, data: string): void {
  const out = decode(bytes) as { type: unknown; data: string };
  expect(out.type).toBe('text');
  expect(out.data === data).toBe(true);
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
    const out = enc.encode(['a1', { type: 'get' }, 0]).bytes;
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.byteLength);
  });

  it('a small result is unchanged by later encodes, and transferring it leaves the encoder working', async () => {
    const enc = new TransferEncoder();
    const first = enc.encode({ type: 'first', n: 1 }).bytes;
    const second = enc.encode({ type: 'second', n: 2 }).bytes;
    expect(decode(first)).toEqual({ type: 'first', n: 1 });
    const arrived = await transfer(first);
    expect(first.buffer.byteLength).toBe(0); // detached: it was moved, not cloned
    expect(decode(arrived)).toEqual({ type: 'first', n: 1 });
    expect(decode(second)).toEqual({ type: 'second', n: 2 });
    expect(decode(enc.encode({ type: 'third' }).bytes)).toEqual({ type: 'third' });
  });

  it('a large result keeps the buffer it was packed into: each gets its own, which later encodes never touch', async () => {
    const enc = new TransferEncoder();
    const a = enc.encode({ type: 'text', data: text(64 * 1024, 'a') }).bytes;
    const b = enc.encode({ type: 'text', data: text(64 * 1024, 'b') }).bytes;
    expect(a.buffer).not.toBe(b.buffer);
    expectText(a, text(64 * 1024, 'a'));
    expectText(await transfer(a), text(64 * 1024, 'a'));
    // The encoder did not keep the transferred buffer as its scratch space.
    expect(decode(enc.encode({ type: 'small' }).bytes)).toEqual({ type: 'small' });
    expectText(enc.encode({ type: 'text', data: text(64 * 1024, 'c') }).bytes, text(64 * 1024, 'c'));
    expectText(b, text(64 * 1024, 'b'));
  });

  it('a result larger than the scratch buffer is encoded whole, and the encoder carries on', async () => {
    const enc = new TransferEncoder(64 * 1024);
    const out = enc.encode({ type: 'text', data: text(1 << 20, 'z') }).bytes;
    const next = enc.encode({ type: 'text', data: text(1 << 20, 'y') }).bytes;
    expect(out.buffer).not.toBe(next.buffer);
    expectText(await transfer(out), text(1 << 20, 'z'));
    expectText(next, text(1 << 20, 'y'));
  });
});

describe('binaries across threads', () => {
  it('a large Uint8Array travels out of band: copied once into a buffer of its own, which becomes the receiver\'s as it is', async () => {
    const enc = new TransferEncoder();
    const data = filled(64 * 1024, 5);
    const out = enc.encode(['a1', { type: 'blob', data }, 0]);
    expect(out.bytes.length).toBeLessThan(100); // the bytes are not in the batch
    expect(out.binaries.map((b) => b.byteLength)).toEqual([64 * 1024]);
    expect(out.totalBytes).toBe(out.bytes.length + 64 * 1024);
    const { port1, port2 } = new MessageChannel();
    const arrived = new Promise<[Uint8Array, ArrayBuffer[]]>((resolve) => port2.once('message', resolve));
    port1.postMessage([out.bytes, out.binaries], [out.bytes.buffer as ArrayBuffer, ...out.binaries]);
    const [bytes, binaries] = await arrived;
    port1.close();
    port2.close();
    expect(out.binaries[0]!.byteLength).toBe(0); // moved, not cloned
    const items = decodeTransferred(bytes, binaries) as [string, { data: Uint8Array }, number];
    const got = items[1].data;
    expect(got.constructor).toBe(Uint8Array);
    expect(got.buffer).toBe(binaries[0]); // no copy on arrival
    expect(Buffer.compare(got, data)).toBe(0);
    expect(data[0]).toBe(5); // the sender keeps its bytes
  });

  it('a small Uint8Array rides in the batch and arrives owning exactly its bytes (it pins no batch buffer)', () => {
    const enc = new TransferEncoder();
    const out = enc.encode(['a1', { type: 'blob', data: filled(100, 7), more: 'x'.repeat(1000) }, 0]);
    expect(out.binaries).toEqual([]);
    const got = (decodeTransferred(out.bytes, []) as [string, { data: Uint8Array }, number])[1].data;
    expect(got.constructor).toBe(Uint8Array);
    expect(got.buffer.byteLength).toBe(100);
    expect(Buffer.compare(got, filled(100, 7))).toBe(0);
  });
});

describe('batches', () => {
  it('objects of one shape in a batch decode alone, each batch on its own, whatever batches came before', () => {
    const enc = new TransferEncoder();
    const first = enc.encode(['a1', { type: 'x', n: 1 }, 0, 'a1', { type: 'y' }, 0]);
    const second = enc.encode(['a1', { type: 'y' }, 0, 'a1', { type: 'x', n: 70 }, 0, 'a2', { q: [{ type: 'x', n: 64 }] }, 0]);
    expect(decodeTransferred(second.bytes, [])).toEqual(['a1', { type: 'y' }, 0, 'a1', { type: 'x', n: 70 }, 0, 'a2', { q: [{ type: 'x', n: 64 }] }, 0]);
    expect(decodeTransferred(first.bytes, [])).toEqual(['a1', { type: 'x', n: 1 }, 0, 'a1', { type: 'y' }, 0]);
  });

  it('a body encoded once (sendMany) sits in a batch beside objects of its shapes and decodes as itself, small integers included', () => {
    const body = { type: 'x', n: 64, more: [65, 127, { type: 'x', n: 100 }], ref: new ActorRef('w1', 'a') };
    const enc = new TransferEncoder();
    const out = enc.encode(['a1', { type: 'x', n: 66 }, 0, 'a2', new EncodedBody(body), 0, 'a3', new EncodedBody(body), 5]);
    const items = decodeTransferred(out.bytes, []) as unknown[];
    expect(items).toEqual(['a1', { type: 'x', n: 66 }, 0, 'a2', body, 0, 'a3', body, 5]);
    expect((items[4] as typeof body).ref).toBeInstanceOf(ActorRef);
  });
});

describe('storage values', () => {
  it('bytes are stored as themselves behind a bin header, the same bytes msgpack would write, and read back as a Uint8Array', () => {
    for (const n of [0, 200, 60_000, 70_000]) {
      const data = new Uint8Array(n).map((_, i) => i & 0xff);
      const stored = encodeValue(data);
      expect(stored.length - n).toBe(n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
      expect(Buffer.compare(stored, encode(data))).toBe(0);
      expect(Buffer.compare(stored.subarray(stored.length - n), data)).toBe(0);
      const back = decode(stored) as Uint8Array;
      expect(back).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(back, data)).toBe(0);
    }
    expect(decode(encodeValue({ type: 'x', n: 1 }))).toEqual({ type: 'x', n: 1 });
  });
});
