import { describe, expect, it } from '@jest/globals';
import { unreachable } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';
import { Piper, SlowServer, Turnstile } from './fixtures/behaviour-kinds.ts';

describe('behaviours returned from receive', () => {
  it('a receive that returns another receive switches the actor to it, sync or async', async () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    const t = sim.spawn('a', Turnstile, {});
    expect(await sim.call(t, { type: 'state' })).toEqual({ state: 'locked', coins: 0, pushes: 0 });
    sim.tell(t, { type: 'push' }); // locked: ignored
    sim.tell(t, { type: 'coin' }); // -> unlocked
    sim.tell(t, { type: 'coin' }); // unlocked: ignored
    expect(await sim.call(t, { type: 'state' })).toEqual({ state: 'unlocked', coins: 1, pushes: 0 });
    sim.tell(t, { type: 'push' }); // async -> locked
    sim.tell(t, { type: 'push' }); // locked again: ignored
    expect(await sim.call(t, { type: 'state' })).toEqual({ state: 'locked', coins: 1, pushes: 1 });
  });

  it('a restart goes back to the behaviour the setup returns', async () => {
    const sim = new SimCluster({ seed: 2, nodes: ['a'] });
    const t = sim.spawn('a', Turnstile, {});
    sim.tell(t, { type: 'coin' });
    expect(await sim.call(t, { type: 'state' })).toMatchObject({ state: 'unlocked' });
    sim.tell(t, { type: 'bogus' } as never); // unreachable throws: the supervisor restarts it
    expect(await sim.call(t, { type: 'state' })).toEqual({ state: 'locked', coins: 0, pushes: 0 });
  });
});

describe('ctx.pipeToSelf', () => {
  it('an actor waiting for an ask keeps serving its mailbox; the answer arrives as a message', async () => {
    const sim = new SimCluster({ seed: 3, nodes: ['a', 'b'] });
    const server = sim.spawn('b', SlowServer, {});
    const piper = sim.spawn('a', Piper, {});
    sim.tell(piper, { type: 'start', server, ms: 100, timeoutMs: 1_000 });
    for (let i = 0; i < 5; i++) {
      await sim.runFor(10);
      sim.tell(piper, { type: 'ping' });
    }
    await sim.runFor(200);
    expect(await sim.call(piper, { type: 'result' })).toEqual({ pings: 5, pingsBeforeAnswer: 5, answer: { ok: true, text: 'slow' } });
  });

  it('a failed promise arrives as a message too, carrying the error', async () => {
    const sim = new SimCluster({ seed: 4, nodes: ['a', 'b'] });
    const server = sim.spawn('b', SlowServer, {});
    const piper = sim.spawn('a', Piper, {});
    sim.tell(piper, { type: 'start', server, ms: 500, timeoutMs: 50 });
    await sim.runFor(100);
    expect(await sim.call(piper, { type: 'result' })).toMatchObject({ answer: { ok: false, text: 'AskTimeoutError' } });
  });
});

describe('unreachable', () => {
  it('throws naming the message type that no case handled', () => {
    expect(() => unreachable({ type: 'mystery' } as never)).toThrow('unexpected message of type mystery');
  });
});
