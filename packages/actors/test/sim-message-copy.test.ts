import { describe, expect, it } from '@jest/globals';
import { roundTrip } from '../src/codec.ts';
import { ActorRef } from '../src/index.ts';
import { copyAsSent, NOT_SERIALIZABLE, OVERSIZE } from '../src/sim/message-copy.ts';

/** The simulator copies a message without encoding it; what arrives must be what the codec's round trip gives. */

const LIMIT = 16 * 1024 * 1024;

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const bodies: Array<[string, unknown]> = [
  ['a message of scalars', { type: 't', s: 'ü✓ text', b: true, n: null, u: undefined, i: 2 ** 40, f: -0.25, nan: NaN, inf: -Infinity }],
  ['64-bit bigints at both ends', { type: 't', lo: -(2n ** 63n), hi: 2n ** 64n - 1n, small: 5n }],
  ['Dates, recent and old', { type: 't', d: new Date(1_700_000_000_123), old: new Date(-1_234_567) }],
  ['binaries (a Buffer arrives as a Uint8Array)', { type: 't', u: new Uint8Array([0, 1, 255]), buf: Buffer.from([7, 8]), big: new Uint8Array(100_000).fill(3) }],
  ['ActorRefs', { type: 't', r: new ActorRef('w1', 'someone'), list: [new ActorRef('a', 'b')] }],
  ['nesting, holes and integer keys', { type: 't', list: [1, { deep: ['x', null] }, , 4], empty: {}, none: [], o: { b: 1, 2: 2, a: 3, 1: 4 } }],
  ['an object without a prototype', Object.assign(Object.create(null) as object, { type: 't', a: { b: 1 } })],
  ['a reply that is a bare value', [1, 'two', 3n]],
  // Outside the message rule (a system body, say): the copy must still come out as the codec's.
  ['-0', { type: 't', z: -0 }],
  ['a key named __proto__', JSON.parse('{"type":"t","__proto__":{"x":1},"y":2}')],
  ['lone surrogates in a value, a key and a ref', { type: 't', s: 'a\ud800b', ['k\udc00']: 1, r: new ActorRef('n\ud800', 'i') }],
  ['a function, a Map and a class instance', { type: 't', f: () => 1, m: new Map([[1, 2]]), p: new Point(1, 2) }],
  ['another typed array', { type: 't', f: new Float64Array([1.5]) }],
  ['an Error', { type: 't', e: new Error('boom') }],
  ['nesting deeper than the message rule allows', deep(80)],
];

function deep(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = { v };
  return v;
}

describe('copyAsSent', () => {
  it.each(bodies)('%s arrives as the codec round trip gives it', (_name, body) => {
    const copy = copyAsSent(body, LIMIT);
    expect(copy).toStrictEqual(roundTrip(body).copy);
  });

  it('an invalid Date arrives as an invalid Date', () => {
    const copy = copyAsSent({ type: 't', bad: new Date(NaN) }, LIMIT) as { bad: Date };
    expect(copy.bad).toBeInstanceOf(Date);
    expect(copy.bad.getTime()).toBeNaN();
    expect((roundTrip({ bad: new Date(NaN) }).copy as { bad: Date }).bad.getTime()).toBeNaN();
  });

  it('shares nothing with the sender: changing the original after the send changes nothing that arrived', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const body = { type: 't', list: [{ n: 1 }], bytes, when: new Date(5) };
    const copy = copyAsSent(body, LIMIT) as typeof body;
    body.list[0]!.n = 2;
    body.list.push({ n: 3 });
    bytes[0] = 9;
    body.when.setTime(6);
    expect(copy).toStrictEqual({ type: 't', list: [{ n: 1 }], bytes: new Uint8Array([1, 2, 3]), when: new Date(5) });
    expect(copy.bytes.buffer).not.toBe(bytes.buffer);
  });

  it('what the codec cannot encode is refused as across threads', () => {
    const cycle: Record<string, unknown> = { type: 't' };
    cycle.self = cycle;
    expect(copyAsSent(cycle, LIMIT)).toBe(NOT_SERIALIZABLE);
    expect(copyAsSent({ type: 't', n: 2n ** 70n }, LIMIT)).toBe(NOT_SERIALIZABLE);
    expect(copyAsSent({ type: 't', s: Symbol('x') }, LIMIT)).toBe(NOT_SERIALIZABLE);
  });

  it('a body over the size limit is refused by its exact encoded size, not by an estimate', () => {
    const body = { type: 't', text: 'x'.repeat(1_000), bytes: new Uint8Array(500) };
    const exact = roundTrip(body).bytes;
    expect(copyAsSent(body, exact)).toStrictEqual(roundTrip(body).copy);
    expect(copyAsSent(body, exact - 1)).toBe(OVERSIZE);
  });
});
