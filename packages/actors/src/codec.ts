import { Packr, Unpackr, addExtension, isNativeAccelerationEnabled } from 'msgpackr';
import { ActorRef } from './ref.ts';

/** msgpack extension type for ActorRef: refs travel inside messages and come out as ActorRefs. */
const REF_EXT_TYPE = 0x41;
addExtension({
  Class: ActorRef,
  type: REF_EXT_TYPE,
  write: (ref: ActorRef) => [ref.node, ref.id],
  read: ([node, id]: [string, string]) => new ActorRef(node, id),
});

/**
 * Binaries at least this large cross threads out of band: copied once into an ArrayBuffer of
 * their own, which is transferred beside the batch and becomes the receiver's Uint8Array as it
 * is (one copy in all, and no view pinning a whole batch; none for one handed over). Smaller ones ride inside the batch and
 * are copied out of it on arrival.
 */
export const OUT_OF_BAND_BYTES = 4096;
const OOB_EXT_TYPE = 0x42;
/** Set while a TransferEncoder packs: where out-of-band binaries go. */
let outgoing: ArrayBuffer[] | undefined;
/** Set while a transferred batch is decoded: the binaries that came beside it. */
let incoming: ArrayBuffer[] | undefined;

/** Byte arrays their senders gave up (handOver): their buffers go out of band as they are. */
const handedOver = new WeakSet<Uint8Array>();

/**
 * Gives bytes up to the next message that carries them to another thread: the transport moves
 * the array's buffer there instead of copying it, which leaves the array empty here. Only an
 * array spanning a whole ArrayBuffer of its own is moved (any other is copied as usual); the
 * sender must not touch it again.
 */
export function handOver(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) handedOver.add(bytes);
  return bytes;
}

addExtension({
  Class: Uint8Array,
  type: OOB_EXT_TYPE,
  pack(bytes: Uint8Array, allocateForWrite: (size: number) => { target: Uint8Array; targetView: DataView; position: number }) {
    if (outgoing !== undefined && bytes.length >= OUT_OF_BAND_BYTES) {
      let own = bytes;
      if (!handedOver.delete(bytes)) {
        // Not zero-filled first (the copy fills it): zeroing cost more than the copy itself.
        own = new Uint8Array(Buffer.allocUnsafeSlow(bytes.length).buffer);
        own.set(bytes);
      }
      const index = outgoing.push(own.buffer as ArrayBuffer) - 1;
      return new Uint8Array([index >>> 24, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff]);
    }
    writeBin(bytes, allocateForWrite);
    return undefined;
  },
  unpack(data: Uint8Array) {
    const index = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
    const buf = incoming?.[index];
    if (buf === undefined) throw new Error(`out-of-band binary ${index} is missing from the batch`);
    return new Uint8Array(buf);
  },
} as unknown as Parameters<typeof addExtension>[0]);

/**
 * A message body encoded once, to go to several peers as it is: each batch it joins gets a copy
 * of its bytes, not a new encoding, and the receiver decodes it as the body itself. Its binaries
 * ride inside it (none goes out of band).
 */
export class EncodedBody {
  readonly bytes: Uint8Array;
  constructor(readonly body: unknown) {
    this.bytes = copyOut(embeddablePackr.pack(body));
  }
}

addExtension({
  Class: EncodedBody,
  type: 0x43,
  pack(encoded: EncodedBody, allocateForWrite: (size: number) => { target: Uint8Array; position: number }) {
    const { target, position } = allocateForWrite(encoded.bytes.length);
    target.set(encoded.bytes, position);
    return undefined;
  },
  unpack() {
    throw new Error('an encoded body is written as the body itself, never as an extension');
  },
} as unknown as Parameters<typeof addExtension>[0]);

/** A msgpack bin (what msgpackr writes for a binary itself), written by hand: the extension above replaces its own. */
function writeBin(bytes: Uint8Array, allocateForWrite: (size: number) => { target: Uint8Array; targetView: DataView; position: number }): void {
  const n = bytes.length;
  const header = binHeaderBytes(n);
  const { target, targetView, position } = allocateForWrite(header + n);
  if (header === 2) {
    target[position] = 0xc4;
    target[position + 1] = n;
  } else if (header === 3) {
    target[position] = 0xc5;
    targetView.setUint16(position + 1, n);
  } else {
    target[position] = 0xc6;
    targetView.setUint32(position + 1, n);
  }
  target.set(bytes, position + header);
}

/** Whether msgpackr's native string extractor is loaded (it speeds up decoding). */
export const nativeDecoding = (): boolean => isNativeAccelerationEnabled;

/** An encoded batch for another thread: its bytes and the binaries that go beside it. */
export interface Transferable {
  bytes: Uint8Array;
  binaries: ArrayBuffer[];
  /** bytes plus binaries. */
  totalBytes: number;
}

/**
 * Encodes values into buffers that can be transferred to another thread. Objects are written as
 * msgpackr records: a batch defines each shape it holds once, inline (so it decodes on its own),
 * and its objects refer to it, which reads several times faster than a map per object. msgpackr packs into a
 * shared internal buffer and returns a view into it; posting that view would clone the whole
 * backing store, and transferring it would detach msgpackr's buffer. So small results are copied
 * out (cheap), and large ones keep the buffer they were packed into, which is then handed over
 * whole while the packer moves on to a fresh scratch buffer. Large binaries go out of band.
 */
export class TransferEncoder {
  private readonly packr = new Packr({ useRecords: true, moreTypes: false });
  private scratch: Uint8Array;

  constructor(
    private readonly scratchBytes = 256 * 1024,
    private readonly copyBelowBytes = 16 * 1024,
  ) {
    this.scratch = Buffer.allocUnsafeSlow(scratchBytes);
  }

  /** The caller may transfer `bytes.buffer` and every binary (none is used again here). */
  encode(value: unknown): Transferable {
    this.packr.useBuffer(this.scratch);
    const binaries: ArrayBuffer[] = [];
    outgoing = binaries;
    let packed: Uint8Array;
    try {
      packed = this.packr.pack(value);
    } finally {
      outgoing = undefined;
    }
    let totalBytes = packed.length;
    for (const b of binaries) totalBytes += b.byteLength;
    if (packed.length < this.copyBelowBytes) {
      // Into a plain Uint8Array: a Buffer's slice goes through its species and costs twice as much.
      const bytes = new Uint8Array(packed.length);
      bytes.set(packed);
      return { bytes, binaries, totalBytes };
    }
    // Hand over the buffer the bytes live in; start the next batch in a fresh one, sized to
    // fit a batch like this one without growing.
    const size = Math.max(this.scratchBytes, nextPowerOfTwo(packed.length + 1024));
    this.scratch = Buffer.allocUnsafeSlow(size);
    return { bytes: packed, binaries, totalBytes };
  }
}

/** A copy with its own ArrayBuffer (Buffer#slice would return a view). */
function copyOut(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const packr = new Packr({ useRecords: false, moreTypes: false });
/** Binaries come out as copies of their own: none pins the buffer it arrived in. */
const copyingUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
/** For batches, whose objects are records (TransferEncoder). */
const batchUnpackr = new Unpackr({ useRecords: true, mapsAsObjects: true, copyBuffers: true });
/**
 * Maps, and no integer as a one-byte 0x40-0x7f (where a record batch refers to its shapes): what
 * it packs can sit inside a batch as it is (EncodedBody).
 */
const embeddablePackr = new Packr({ useRecords: () => false, moreTypes: false });

export function decode(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/** Records, each shape defined inline where first used: what encodeRecords packs decodes on its own. */
const recordPackr = new Packr({ useRecords: true, moreTypes: false });
const recordUnpackr = new Unpackr({ useRecords: true, mapsAsObjects: true, copyBuffers: true });

/**
 * Encodes a value packed once and kept as bytes (a Paxos leader's slot value, which its acceptors
 * store as it is). Objects are msgpackr records, as in a batch to another thread: each shape's keys
 * are written once, which packs a list of like objects about 1.5 times as fast as maps, in less than half the bytes.
 * Binaries ride inside (none goes out of band). Only decodeRecords reads it.
 */
export function encodeRecords(value: unknown): Uint8Array {
  return copyOut(recordPackr.pack(value));
}

/** Decodes what encodeRecords packed; binaries come out as Uint8Arrays of their own. Throws on bytes that are not one whole value. */
export function decodeRecords(bytes: Uint8Array): unknown {
  return recordUnpackr.unpack(plainView(bytes));
}

/** Decodes a batch from another thread, with the binaries that were transferred beside it. */
export function decodeTransferred(bytes: Uint8Array, binaries: ArrayBuffer[]): unknown {
  incoming = binaries;
  try {
    // Through a plain Uint8Array view, so binaries come out as Uint8Arrays, never Buffers.
    return batchUnpackr.unpack(plainView(bytes));
  } finally {
    incoming = undefined;
  }
}

/** Encode into a fresh, exactly-sized buffer (for storage values and wire frames). */
export function encode(value: unknown): Uint8Array {
  return copyOut(packr.pack(value));
}

/**
 * Encodes a storage value. Bytes are not re-encoded: they are copied once behind a msgpack bin
 * header (what `decode` reads back as a Uint8Array); anything else goes through msgpack.
 */
export function encodeValue(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) return encode(value);
  const out = new Uint8Array(binHeaderBytes(value.length) + value.length);
  writeBin(value, (size) => ({ target: out, targetView: new DataView(out.buffer), position: out.length - size }));
  return out;
}

function binHeaderBytes(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/**
 * A deep copy through the codec (what a receiver on another node would see) and its encoded
 * size. Binaries are copied out, so the copy shares nothing with the packer's scratch buffer.
 */
export function roundTrip(value: unknown): { copy: unknown; bytes: number } {
  const packed = packr.pack(value);
  return { copy: copyingUnpackr.unpack(plainView(packed)), bytes: packed.length };
}

function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
