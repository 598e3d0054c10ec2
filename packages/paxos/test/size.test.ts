import { describe, expect, it } from '@jest/globals';
import { ActorRef, encode, encodeRecords } from '@actorfs/actors';
import type { SlotValue } from '../src/index.ts';
import { approxBytes } from '../src/size.ts';

// A message's size is estimated, never measured, on the propose path: the estimate must never
// undercount, or a batch cut within the bound could pass the transport's limit.

const slotValue = (n: number): SlotValue => ({
  cmds: Array.from({ length: n }, (_, i) => ({ type: 'op' as const, session: `s-${i % 7}`, seq: i + 1, ack: i, op: { op: 'put', key: `k${i}`, value: i } })),
  time: 1_700_000_000_123,
});

describe('approxBytes', () => {
  const values: Array<[string, unknown]> = [
    ['a slot value', slotValue(50)],
    ['ASCII, two-byte, three-byte and astral strings, short and long', ['abc', 'é'.repeat(20), '😀'.repeat(5), '\ud800x', '€'.repeat(40), '😀'.repeat(30), 'x'.repeat(70_000), { ['ключ'.repeat(9)]: '鍵' }]],
    ['numbers, bigints, booleans, null and undefined', [0, -1, 2 ** 31, 1.5, -(2 ** 60), 2n ** 63n, true, false, null, undefined, { a: undefined }]],
    ['binaries', [new Uint8Array(10), new Uint8Array(300), new Uint8Array(70_000)]],
    ['dates', [new Date(0), new Date(1_700_000_000_123), new Date(-1e15), { when: new Date(8.64e15) }]],
    ['refs', [new ActorRef('node-1', 'acceptor-0')]],
    ['nested objects with many keys', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, { deep: [i, `v${i}`] }]))],
  ];
  for (const [what, value] of values) {
    it(`is at least the encoded size, as maps and as records: ${what}`, () => {
      expect(approxBytes(value)).toBeGreaterThanOrEqual(Math.max(encode(value).length, encodeRecords(value).length));
    });
  }
});
