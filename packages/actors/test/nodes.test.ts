import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorRef, ActorSystem } from '../src/index.ts';
import { Counter, Echo } from './fixtures/kinds.ts';
import { Recorder, Relay, SeqReceiver, SeqSender } from './fixtures/probes.ts';

const modules = [new URL('./fixtures/kinds.ts', import.meta.url), new URL('./fixtures/probes.ts', import.meta.url)];

let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: 2, modules });
});

afterAll(async () => {
  await sys.shutdown();
});

describe('nodes', () => {
  it('a system runs main plus the requested workers, and each actor runs on the node it was spawned on', async () => {
    expect(sys.nodes()).toEqual(['main', 'w1', 'w2']);
    for (const node of sys.nodes()) {
      const r = await sys.spawn(Relay, {}, { node });
      expect(await sys.ask(r, { type: 'where' })).toBe(node);
    }
  });

  it('an actor on one worker asks an actor on another worker', async () => {
    const counter = await sys.spawn(Counter, { start: 9 }, { node: 'w2' });
    const relay = await sys.spawn(Relay, {}, { node: 'w1' });
    expect(await sys.ask(relay, { type: 'ask', to: counter, msg: { type: 'get' } })).toEqual({ ok: true, value: 9 });
  });

  it('the same actor code reaches a target on its own node, on another worker and on main', async () => {
    const relay = await sys.spawn(Relay, {}, { node: 'w1' });
    for (const node of ['w1', 'w2', 'main']) {
      const counter = await sys.spawn(Counter, { start: 0 }, { node });
      sys.tell(relay, { type: 'tell', to: counter, msg: { type: 'add', by: 5 } });
      // The relay's tell and its later ask share a sender/receiver pair, so the add lands first.
      expect(await sys.ask(relay, { type: 'ask', to: counter, msg: { type: 'get' } })).toEqual({ ok: true, value: 5 });
    }
  });

  it('a ref inside a message arrives as an ActorRef that can be asked', async () => {
    const counter = await sys.spawn(Counter, { start: 3 }, { node: 'w1' });
    const echo = await sys.spawn(Echo, {}, { node: 'w2' });
    const back = (await sys.ask(echo, { type: 'echo', payload: { nested: [counter] } })) as { nested: unknown[] };
    const ref = back.nested[0];
    expect(ref).toBeInstanceOf(ActorRef);
    expect((ref as ActorRef).equals(counter)).toBe(true);
    expect(await sys.ask(ref as typeof counter, { type: 'get' })).toBe(3);
  });

  it('a ref received by an actor is usable there to send on to a third node', async () => {
    const counter = await sys.spawn(Counter, { start: 0 }, { node: 'main' });
    const relay = await sys.spawn(Relay, {}, { node: 'w2' });
    // The relay on w2 decodes the ref and uses it; the counter on main sees the add.
    sys.tell(relay, { type: 'tell', to: counter, msg: { type: 'add', by: 7 } });
    expect(await sys.ask(relay, { type: 'ask', to: counter, msg: { type: 'get' } })).toEqual({ ok: true, value: 7 });
  });

  it('a ref inside spawn props arrives on the worker as an ActorRef', async () => {
    const counter = await sys.spawn(Counter, { start: 0 }, { node: 'w2', name: 'propped' });
    const relay = await sys.spawn(Relay, { peer: counter }, { node: 'w1' });
    expect(await sys.ask(relay, { type: 'peer' })).toEqual({ isRef: true, address: 'propped@w2' });
  });

  it('sendMany delivers one message to actors on its own node and on two others, encoding it once for all the remote ones, in order with plain sends', async () => {
    const relay = await sys.spawn(Relay, {}, { node: 'w1' });
    const [local, a, b, onMain] = await Promise.all(['w1', 'w2', 'w2', 'main'].map((node) => sys.spawn(Recorder, {}, { node })));
    const remote = [a!, b!, onMain!];
    const value = { ref: relay, small: new Uint8Array([1, 2, 3]), large: new Uint8Array(10_000).fill(9), nested: [{ n: -1.5 }] };
    sys.tell(relay, { type: 'tell', to: a!, msg: { type: 'note', value: 'first' } });
    await sys.ask(a!, { type: 'wait', count: 1 }); // its encoding is not counted below
    const before = (await sys.stats('w1')).encodedBodies;
    sys.tell(relay, { type: 'tell-many', to: [local!, ...remote], msg: { type: 'note', value } });
    for (const r of remote) await sys.ask(r, { type: 'wait', count: r === a ? 2 : 1 });
    // Measured before anything on w1 answers main: its recorder's reply is a body w1 encodes.
    const shared = (await sys.stats('w1')).encodedBodies - before;
    sys.tell(relay, { type: 'tell', to: a!, msg: { type: 'note', value: 'last' } });
    const got = await sys.ask(a!, { type: 'wait', count: 3 });
    expect(got.map((r) => (r.type === 'note' && typeof r.value === 'string' ? r.value : 'many'))).toEqual(['first', 'many', 'last']);
    for (const r of [local!, b!, onMain!]) expect(await sys.ask(r, { type: 'recorded' })).toEqual([{ type: 'note', value }]);
    const arrived = got[1] as { value: typeof value };
    expect(arrived.value.ref).toBeInstanceOf(ActorRef);
    expect(arrived.value.large).toBeInstanceOf(Uint8Array);
    expect(shared).toBe(1);
    // The same three sends one by one: three encodings.
    const before3 = (await sys.stats('w1')).encodedBodies;
    for (const r of remote) sys.tell(relay, { type: 'tell', to: r, msg: { type: 'note', value } });
    for (const r of remote) await sys.ask(r, { type: 'wait', count: r === a ? 4 : 2 });
    expect((await sys.stats('w1')).encodedBodies - before3).toBe(3);
  });

  it('10,000 messages from an actor on w1 reach an actor on w2 in the order they were sent, without passing through main', async () => {
    const count = 10_000;
    const receiver = await sys.spawn(SeqReceiver, {}, { node: 'w2' });
    const sender = await sys.spawn(SeqSender, {}, { node: 'w1' });
    const mainBefore = await sys.stats();
    const w1Before = await sys.stats('w1');
    expect(await sys.ask(sender, { type: 'blast', to: receiver, count })).toBe(count);
    const report = await sys.ask(receiver, { type: 'report', count }, { timeoutMs: 10_000 });
    expect(report).toEqual({ received: count, outOfOrder: 0, last: count - 1 });
    const mainAfter = await sys.stats();
    const w1After = await sys.stats('w1');
    expect(mainAfter.messagesIn - mainBefore.messagesIn).toBe(0);
    expect(w1After.messagesOut - w1Before.messagesOut).toBeGreaterThanOrEqual(count);
  });
});
