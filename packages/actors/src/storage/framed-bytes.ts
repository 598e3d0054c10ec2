/** A msgpack bin 32 header: the tag, then the length (4 bytes, big-endian). */
const BIN32_TAG = 0xc6;
const HEADER_BYTES = 5;

/**
 * A stored value of `lengthBytes` bytes, framed as the codec frames a Uint8Array (a msgpack bin),
 * with `body` the view to fill: the bytes are written once, in place.
 */
export function framedBytes(lengthBytes: number): { value: Uint8Array; body: Uint8Array } {
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0 || lengthBytes > 0xffffffff) throw new RangeError(`storage: cannot store ${String(lengthBytes)} bytes`);
  const value = new Uint8Array(HEADER_BYTES + lengthBytes);
  value[0] = BIN32_TAG;
  new DataView(value.buffer).setUint32(1, lengthBytes);
  return { value, body: value.subarray(HEADER_BYTES) };
}

/**
 * Bytes framed for storage before their put (`ActorStorage.putFramed`): the caller fills `body`
 * (at any time, on any turn), then the value is stored as it is, with no copy at the put.
 */
export class FramedBytes {
  readonly value: Uint8Array;
  /** The bytes `get` returns once stored. */
  readonly body: Uint8Array;

  constructor(lengthBytes: number) {
    ({ value: this.value, body: this.body } = framedBytes(lengthBytes));
  }
}
