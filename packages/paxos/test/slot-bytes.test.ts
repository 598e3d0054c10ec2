import { describe, expect, it } from '@jest/globals';
import type { ActorStorage } from '@actorfs/actors';
import { SimCluster } from '@actorfs/actors/testing';
import type { SlotValue } from '../src/index.ts';
import { AcceptedLog } from '../src/accepted-log.ts';
import { decodeSlotValue, encodeSlotValue } from '../src/slot-bytes.ts';

// An accepted value travels and is stored as the bytes the leader packed once, checked when read back.

const slotValue = (n: number): SlotValue => ({
  cmds: Array.from({ length: n }, (_, i) => ({ type: 'op' as const, session: `s-${i % 7}`, seq: i + 1, ack: i, op: { op: 'put', key: `k${i}`, value: i } })),
  time: 1_700_000_000_123,
});

describe('slot bytes', () => {
  it('decode what the leader encoded: the same value', () => {
    const value = slotValue(300);
    expect(decodeSlotValue(encodeSlotValue(value), 1)).toEqual(value);
  });

  it('bytes cut short, with a byte flipped, or with bytes after the value are refused, naming the slot', () => {
    const bytes = encodeSlotValue(slotValue(3));
    const flipped = bytes.slice();
    flipped[0] ^= 0xff; // the value's outer header: no longer a map of cmds and time
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    for (const bad of [bytes.subarray(0, bytes.length - 3), flipped, longer]) expect(() => decodeSlotValue(bad, 7)).toThrow(/value of slot 7 is corrupt/);
  });

  it('a whole value that is not a slot value is refused', () => {
    const notSlots = [{ cmds: [{ type: 'op', session: '', seq: 1, ack: 0 }], time: 0 }, { cmds: 'x', time: 0 }, [1, 2]];
    for (const v of notSlots) expect(() => decodeSlotValue(encodeSlotValue(v as unknown as SlotValue), 3)).toThrow(/value of slot 3 is corrupt/);
  });
});

describe('the accepted log', () => {
  // An actor's scoped storage on a simulated node, as the acceptor gets it through ctx.storage.
  const storage = (): ActorStorage => new SimCluster({ seed: 1, nodes: ['a'] }).node('a').storage().scope('acceptor');
  const ballot = { round: 3, id: 0 };

  it('reads back the bytes it stored as the value they hold', () => {
    const log = new AcceptedLog(storage());
    const value = slotValue(5);
    log.put(4, ballot, encodeSlotValue(value));
    expect(log.slots(0, 10)).toEqual([[4, ballot, value]]);
  });

  it('reads a record written before values were kept as bytes (the value itself) as it was', () => {
    const store = storage();
    const value = slotValue(2);
    store.put(['acc', 9], [ballot, value]);
    expect(new AcceptedLog(store).slots(0, 10)).toEqual([[9, ballot, value]]);
  });

  it('refuses a record that is neither, naming its slot', () => {
    const store = storage();
    store.put(['acc', 2], [ballot, { cmds: 'x', time: 0 }]);
    expect(() => new AcceptedLog(store).slots(0, 10)).toThrow(/accepted record of slot 2 is corrupt/);
  });
});
