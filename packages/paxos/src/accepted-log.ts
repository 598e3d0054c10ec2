import type { ActorStorage } from '@actorfs/actors';
import type { Ballot } from './ballot.ts';
import type { SlotValue } from './messages.ts';
import { approxBytes, takeWithin } from './size.ts';
import { decodeSlotValue } from './slot-bytes.ts';
import { isBallot, isSlotValue } from './validate.ts';

export const LAST_SLOT = Number.MAX_SAFE_INTEGER;

/** An acceptor's accepted (ballot, value) per slot in storage, from its truncation point on. */
export class AcceptedLog {
  truncatedBefore: number;

  constructor(private readonly store: ActorStorage) {
    this.truncatedBefore = store.get<number>('truncated') ?? 0;
  }

  /** value: the slot value's bytes as the accept carried them (slot-bytes.ts), stored as they are. */
  put(slot: number, ballot: Ballot, value: Uint8Array): void {
    this.store.put(['acc', slot], [ballot, value]);
  }

  /**
   * Accepted (slot, ballot, value) of slots from..to (inclusive), never below the truncation point;
   * at most `limit`. Each is checked as it is read: a corrupt one throws, naming its slot. A record
   * written before values were kept as bytes holds the value itself, and reads as it was.
   */
  slots(from: number, to: number, limit?: number): Array<[number, Ballot, SlotValue]> {
    return this.store
      .range<unknown>({ start: ['acc', Math.max(from, this.truncatedBefore)], end: ['acc', to + 1], ...(limit === undefined ? {} : { limit }) })
      .map(({ key, value }) => {
        const slot = key[1] as number;
        const [ballot, stored] = Array.isArray(value) ? (value as unknown[]) : [];
        if (isBallot(ballot) && stored instanceof Uint8Array) return [slot, ballot as Ballot, decodeSlotValue(stored, slot)];
        if (isBallot(ballot) && isSlotValue(stored)) return [slot, ballot as Ballot, stored as SlotValue];
        throw new Error(`the accepted record of slot ${slot} is corrupt: not [ballot, bytes]`);
      });
  }

  /**
   * Slots from `from` on, at most `maxSlots` and about maxBytes (at least one), and whether more
   * follow, or up to which slot the piece covers when cut short before `to`.
   */
  piece(from: number, to: number, maxSlots: number, maxBytes: number): { entries: Array<[number, Ballot, SlotValue]>; more: boolean } {
    const read = this.slots(from, to, maxSlots + 1);
    const entries = takeWithin(read.slice(0, maxSlots), maxBytes, (e) => approxBytes(e[2]));
    return { entries, more: entries.length < read.length };
  }

  /** Forgets every slot before `before` (chosen, and in a learner's snapshot). */
  truncate(before: number): void {
    if (before <= this.truncatedBefore) return;
    for (const { key } of this.store.range({ start: ['acc', this.truncatedBefore], end: ['acc', before] })) this.store.delete(key);
    this.truncatedBefore = before;
    this.store.put('truncated', before);
  }
}
