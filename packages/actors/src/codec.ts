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

/** Whether msgpackr's native string extractor is loaded (it speeds up decoding). */
export const nativeDecoding = (): boolean => isNativeAccelerationEnabled;

/**
 * Encodes values into buffers that can be transferred to another thread. msgpackr packs into a
 * shared internal buffer and returns a view into it; posting that view would clone the whole
 * backing store, and transferring it would detach msgpackr's buffer. So small results are copied
 * out (cheap), and large ones keep the buffer they were packed into, which is then handed over
 * whole while the packer moves on to a fresh scratch buffer: a large payload is copied exactly
 * once, into the buffer that is transferred.
 */
export class TransferEncoder {
  private readonly packr = new Packr({ useRecords: false, moreTypes: false });
  private scratch: Uint8Array;

  constructor(
    private readonly scratchBytes = 256 * 1024,
    private readonly copyBelowBytes = 16 * 1024,
  ) {
    this.scratch = Buffer.allocUnsafeSlow(scratchBytes);
  }

  /** Returns bytes whose `.buffer` the caller may transfer (it is not used again here). */
  encode(value: unknown): Uint8Array {
    this.packr.useBuffer(this.scratch);
    const packed = this.packr.pack(value);
    if (packed.length < this.copyBelowBytes) return copyOut(packed);
    // Hand over the buffer the bytes live in; start the next batch in a fresh one, sized to
    // fit a batch like this one without growing.
    const size = Math.max(this.scratchBytes, nextPowerOfTwo(packed.length + 1024));
    this.scratch = Buffer.allocUnsafeSlow(size);
    return packed;
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

export function decode(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/** Encode into a fresh, exactly-sized buffer (for storage values and wire frames). */
export function encode(value: unknown): Uint8Array {
  return copyOut(packr.pack(value));
}

const copyingUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

/**
 * A deep copy through the codec (what a receiver on another node would see) and its encoded
 * size. Binaries are copied out, so the copy shares nothing with the packer's scratch buffer.
 */
export function roundTrip(value: unknown): { copy: unknown; bytes: number } {
  const packed = packr.pack(value);
  return { copy: copyingUnpackr.unpack(packed), bytes: packed.length };
}
