import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorRef, ActorSystem, RemoteActorError, UnsendableError } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';
import { Misfit } from './fixtures/message-rule-kinds.ts';
import { Recorder, type RecorderMsg } from './fixtures/probes.ts';
import { rejectionOf } from './helpers.ts';

/** One rule on every path: what is carried arrives the same; what is not fails the send, naming where it sits. */

let sys: ActorSystem;
let local: ActorRef<RecorderMsg>;
let remote: ActorRef<RecorderMsg>;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: 1, modules: [new URL('./fixtures/probes.ts', import.meta.url)] });
  local = await sys.spawn(Recorder, {}, { node: 'main' });
  remote = await sys.spawn(Recorder, {}, { node: 'w1' });
});

afterAll(async () => {
  await sys.shutdown();
});

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const carried: Array<[string, unknown]> = [
  ['a string', 'ü✓ text'],
  ['a boolean', true],
  ['null', null],
  ['undefined', undefined],
  ['an integer beyond 32 bits', 2 ** 40],
  ['a fraction', -0.25],
  ['NaN', NaN],
  ['Infinity', -Infinity],
  ['a 64-bit bigint', -(2n ** 62n)],
  ['a Date', new Date(1_700_000_000_123)],
  ['a Uint8Array', new Uint8Array([0, 1, 255])],
  ['a large Uint8Array', new Uint8Array(100_000).fill(3)],
  ['an ActorRef', new ActorRef('w1', 'someone')],
  ['nested objects and arrays', { list: [1, { deep: ['x', null] }], empty: {}, none: [] }],
  ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1 })],
];

describe('carried faithfully, on the same thread and across threads alike', () => {
  it.each(carried)('%s', async (_name, value) => {
    for (const target of [local, remote]) {
      const before = (await sys.ask(target, { type: 'recorded' })).length;
      sys.tell(target, { type: 'note', value });
      const got = (await sys.ask(target, { type: 'wait', count: before + 1 }))[before] as { value: unknown };
      expect(got).toEqual({ type: 'note', value });
      if (value instanceof Uint8Array) expect(got.value).toBeInstanceOf(Uint8Array);
      if (value instanceof Date) expect(got.value).toBeInstanceOf(Date);
      if (value instanceof ActorRef) expect(got.value).toBeInstanceOf(ActorRef);
      if (typeof value === 'bigint') expect(typeof got.value).toBe('bigint');
    }
  });
});

const refused: Array<[string, unknown, RegExp]> = [
  ['a function', { type: 'note', value: { f: () => 1 } }, /msg\.value\.f is a function/],
  ['a Map', { type: 'note', value: new Map([[1, 2]]) }, /msg\.value is a Map/],
  ['a Set', { type: 'note', value: [1, new Set([1])] }, /msg\.value\[1\] is a Set/],
  ['another typed array', { type: 'note', value: new Float64Array([1.5]) }, /msg\.value is a Float64Array/],
  ['an ArrayBuffer', { type: 'note', value: new ArrayBuffer(4) }, /msg\.value is an ArrayBuffer/],
  ['an Error', { type: 'note', value: new Error('boom') }, /msg\.value is an Error/],
  ['a class instance', { type: 'note', value: new Point(1, 2) }, /msg\.value is an instance of class Point/],
  ['-0', { type: 'note', value: { 'odd key': -0 } }, /msg\.value\["odd key"\] is -0/],
  ['a symbol', { type: 'note', value: Symbol('local') }, /msg\.value is a symbol/],
  ['a bigint beyond 64 bits', { type: 'note', value: 2n ** 70n }, /msg\.value is a bigint outside 64 bits/],
  ['a cycle', ((): unknown => { const m: Record<string, unknown> = { type: 'note' }; m.value = m; return m; })(), /nested deeper than 64 levels/],
  ['a message without a type', { value: 1 }, /msg has no string `type`/],
  ['a message that is not an object', 'note', /msg is a string, not an object with a string `type`/],
];

describe('refused with a clear error naming the path, on both paths alike', () => {
  it.each(refused)('%s', async (_name, msg, pattern) => {
    const messages: string[] = [];
    for (const target of [local, remote]) {
      let thrown: unknown;
      try {
        sys.tell(target, msg as RecorderMsg);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(UnsendableError);
      expect((thrown as Error).message).toMatch(pattern);
      messages.push((thrown as Error).message);
      const askErr = await rejectionOf(sys.ask(target, msg as RecorderMsg & { type: 'recorded' }));
      expect(askErr).toBeInstanceOf(UnsendableError);
      expect(askErr.message).toBe(messages[0]);
    }
    expect(messages[1]).toBe(messages[0]);
  });

  it('a reply that cannot be carried fails the replier\'s turn, and the asker hears why, on both paths', async () => {
    for (const target of [local, remote]) {
      const err = await rejectionOf(sys.ask(target, { type: 'bad-reply' }));
      expect(err).toBeInstanceOf(RemoteActorError);
      expect(err.message).toMatch(/reply is a Map/);
    }
  });

  it('the simulator applies the same rule', async () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    const r = sim.spawn('a', Recorder, {});
    expect(() => sim.tell(r, { type: 'note', value: new Map() })).toThrow(/msg\.value is a Map/);
    sim.tell(r, { type: 'note', value: new Uint8Array([9]) });
    const [got] = (await sim.call(r, { type: 'wait', count: 1 })) as Array<{ value: unknown }>;
    expect(got!.value).toEqual(new Uint8Array([9]));
  });
});

describe("an actor's tell to an actor of its own thread", () => {
  const misfits = new URL('./fixtures/message-rule-kinds.ts', import.meta.url);

  it("is checked only for its type by default (the receiver gets the sender's own objects); the same message to another thread is refused", async () => {
    const system = await ActorSystem.start({ workers: 1, modules: [misfits] });
    try {
      const misfit = await system.spawn(Misfit, {}, { node: 'w1' });
      const neighbour = await system.spawn(Misfit, {}, { node: 'w1' });
      const elsewhere = await system.spawn(Misfit, {}, { node: 'main' });
      expect(await system.ask(misfit, { type: 'send', to: neighbour, what: 'map' })).toEqual({ sent: true });
      expect(await system.ask(neighbour, { type: 'maps' })).toBe(1);
      expect(await system.ask(misfit, { type: 'send', to: elsewhere, what: 'map' })).toMatchObject({ sent: false, name: 'UnsendableError', message: expect.stringMatching(/msg\.value is a Map/) });
      expect(await system.ask(misfit, { type: 'send', to: neighbour, what: 'untyped' })).toMatchObject({ sent: false, name: 'UnsendableError', message: expect.stringMatching(/msg has no string `type`/) });
    } finally {
      await system.shutdown();
    }
  });

  it('is checked against the whole rule with checkSameThreadMessages, and always in the simulator', async () => {
    const system = await ActorSystem.start({ modules: [misfits], checkSameThreadMessages: true });
    try {
      const misfit = await system.spawn(Misfit, {});
      const neighbour = await system.spawn(Misfit, {});
      expect(await system.ask(misfit, { type: 'send', to: neighbour, what: 'map' })).toMatchObject({ sent: false, message: expect.stringMatching(/msg\.value is a Map/) });
      expect(await system.ask(neighbour, { type: 'maps' })).toBe(0);
    } finally {
      await system.shutdown();
    }
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    const misfit = sim.spawn('a', Misfit, {});
    const neighbour = sim.spawn('a', Misfit, {});
    expect(await sim.call(misfit, { type: 'send', to: neighbour, what: 'map' })).toMatchObject({ sent: false, message: expect.stringMatching(/msg\.value is a Map/) });
  });

  it('checkSameThreadMessages must be true or false', async () => {
    await expect(ActorSystem.start({ checkSameThreadMessages: 'yes' as unknown as boolean })).rejects.toThrow(/option checkSameThreadMessages: "yes" is not true or false/);
  });
});
