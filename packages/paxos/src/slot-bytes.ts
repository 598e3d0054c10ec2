import { decodeRecords, encodeRecords } from '@actorfs/actors';
import type { SlotValue } from './messages.ts';
import { isSlotValue } from './validate.ts';

/**
 * A slot's value as an accept carries it: packed once by the leader (for every acceptor, its own
 * included), and stored by each acceptor as it arrived, so no acceptor encodes it again. Records
 * (see encodeRecords) pack a batch of like commands faster and smaller than maps.
 */
export function encodeSlotValue(value: SlotValue): Uint8Array {
  return encodeRecords(value);
}

/** The value of slot `slot` from its bytes; throws naming the slot if they are not a whole, well-formed SlotValue (corrupt). */
export function decodeSlotValue(bytes: Uint8Array, slot: number): SlotValue {
  let value: unknown;
  try {
    value = decodeRecords(bytes);
  } catch (err) {
    throw new Error(`the value of slot ${slot} is corrupt: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isSlotValue(value)) throw new Error(`the value of slot ${slot} is corrupt: not a well-formed slot value`);
  return value as SlotValue;
}
