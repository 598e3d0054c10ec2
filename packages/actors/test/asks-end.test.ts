import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorNode, ActorRef, ActorSystem, DeliveryError, MemoryStore, type NodeEnv } from '../src/index.ts';
import { Stuck, TimerUser } from './fixtures/hardening-kinds.ts';
import { HANG_MS, rejectionOf, runScenario, settledNow, until } from './helpers.ts';

const modules = [new URL('./fixtures/hardening-kinds.ts', import.meta.url)];
let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['w1'], modules });
});

afterAll(async () => {
  await sys.shutdown();
});

/** Waits until `s` has taken the message sent to it just now: its mailbox is empty and its node processed one more. */
async function untilTaken(system: ActorSystem, s: { id: string; node: string }, processedBefore: number): Promise<void> {
  await until(async () => {
    const stats = await system.stats(s.node);
    return stats.processed > processedBefore && !stats.deepestMailboxes.some((m) => m.actor === s.id);
  }, `${s.id}@${s.node} takes its message`);
}

describe('asks always end', () => {
  for (const node of ['main', 'w1']) {
    it(`an ask whose receive never settles fails with stopped when the actor is stopped, on ${node}`, async () => {
      const s = await sys.spawn(Stuck, {}, { node });
      const processed = (await sys.stats(node)).processed;
      const failure = rejectionOf(sys.ask(s, { type: 'hang' }, { timeoutMs: HANG_MS }));
      await untilTaken(sys, s, processed);
      await sys.stop(s);
      const err = await failure;
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ reason: 'stopped', target: `${s.id}@${node}` });
    });
  }

  it('an ask pending when its system shuts down fails at once', async () => {
    const other = await ActorSystem.start({ workers: ['w1'], modules });
    const s = await other.spawn(Stuck, {}, { node: 'w1' });
    const processed = (await other.stats('w1')).processed;
    const failure = rejectionOf(other.ask(s, { type: 'hang' }, { timeoutMs: 600_000 }));
    await untilTaken(other, s, processed);
    await other.shutdown();
    // The worker stops the actor (stopped) or main fails what is still pending (node-down).
    expect(await settledNow(failure)).toMatchObject({ name: 'DeliveryError', reason: expect.stringMatching(/^(stopped|node-down)$/) });
    expect(await rejectionOf(other.ask(s, { type: 'ping' }))).toHaveProperty('message', expect.stringMatching(/node main has shut down/));
  });

  it('a node that shuts down fails the asks it is still waiting on at once, and clears their timers', async () => {
    const live = new Set<unknown>();
    const env: NodeEnv = {
      now: () => 0,
      setTimer: (fn, ms) => {
        const h = setTimeout(fn, ms);
        live.add(h);
        return h;
      },
      clearTimer: (h) => {
        clearTimeout(h as NodeJS.Timeout);
        live.delete(h);
      },
      defer: (fn) => setImmediate(fn),
    };
    const node = new ActorNode({ name: 'n', env, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
    node.transport = { send: () => undefined }; // accepted, never answered: a reply lost on the way
    const failure = rejectionOf(node.ask(new ActorRef('elsewhere', 'x'), { type: 'get' }, 600_000));
    expect(live.size).toBe(1);
    await node.shutdown();
    expect(await settledNow(failure)).toMatchObject({ name: 'DeliveryError', reason: 'node-down' });
    expect(live.size).toBe(0);
  });

  it('asks share one timer for their deadlines: a hundred asks one after another arm it once', async () => {
    let armed = 0;
    const env: NodeEnv = {
      now: () => Date.now(),
      setTimer: (fn, ms) => (armed++, setTimeout(fn, ms)),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      defer: (fn) => setImmediate(fn),
    };
    const node = new ActorNode({ name: 'n', env, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
    const s = node.spawn(Stuck, {});
    for (let i = 0; i < 100; i++) expect(await node.ask(s, { type: 'ping' }, 60_000)).toBe('pong');
    expect(armed).toBe(1);
    await node.shutdown();
  });

  it('the shared timer does not keep a process alive once no ask is pending: a node never shut down lets it exit', async () => {
    // The ask's timeout is ten minutes; the limit (the helper's, 100 s) only catches a process held by it.
    const run = await runScenario('answered-ask-never-shut-down');
    expect(run.results).toEqual([{ answer: 'pong' }]);
    expect(run.code).toBe(0);
  });

  it('each ask times out at its own deadline, whatever the timeouts of the others', async () => {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const env: NodeEnv = {
      now: () => now,
      setTimer: (fn, ms) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimer: (h) => void timers.splice(timers.indexOf(h as (typeof timers)[number]), 1),
      defer: (fn) => setImmediate(fn),
    };
    const node = new ActorNode({ name: 'n', env, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
    node.transport = { send: () => undefined }; // never answered
    /** Runs the timers in the order they are due, as a clock would. */
    const runTimers = async (): Promise<void> => {
      while (timers.length > 0) {
        timers.sort((x, y) => x.at - y.at);
        const t = timers.shift()!;
        now = t.at;
        t.fn();
        await new Promise((r) => setImmediate(r));
      }
    };
    const timedOut: Array<[string, number]> = [];
    const ask = (id: string, timeoutMs: number): void =>
      void node.ask(new ActorRef('elsewhere', id), { type: 'get' }, timeoutMs).catch((err: Error) => void timedOut.push([`${err.name} ${id}`, now]));
    ask('a', 300);
    ask('b', 100);
    now = 50;
    ask('c', 300);
    now = 60;
    ask('d', 100);
    await runTimers();
    expect(timedOut).toEqual([
      ['AskTimeoutError b', 100],
      ['AskTimeoutError d', 160],
      ['AskTimeoutError a', 300],
      ['AskTimeoutError c', 350],
    ]);
    // Many timeouts, most asks answered meanwhile: each unanswered one still ends at its deadline, in order.
    timedOut.length = 0;
    const s = node.spawn(Stuck, {});
    const start = now;
    const unanswered: Array<[string, number]> = [];
    for (let i = 0; i < 300; i++) {
      const timeoutMs = 1 + ((i * 7919) % 997);
      if (i % 10 === 0) {
        ask(`u${i}`, timeoutMs);
        unanswered.push([`AskTimeoutError u${i}`, start + timeoutMs]);
      } else expect(await node.ask(s, { type: 'ping' }, timeoutMs)).toBe('pong');
    }
    await runTimers();
    expect(timedOut).toEqual(unanswered.sort((x, y) => x[1] - y[1]));
    expect(node.stats().pendingAsks).toBe(0);
    await node.shutdown();
  });

  const badTimeouts: Array<[string, number]> = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['above the timer limit', 2 ** 31],
    ['zero', 0],
    ['negative', -5],
  ];
  for (const [what, timeoutMs] of badTimeouts) {
    it(`a timeoutMs that is ${what} is a clear error, not a near-zero timeout`, async () => {
      const s = await sys.spawn(Stuck, {}, { node: 'w1' });
      const err = await rejectionOf(sys.ask(s, { type: 'ping' }, { timeoutMs }));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toMatch(/ask ping to ~\w+@w1: timeoutMs: .* is not a number of ms above 0 and at most 2147483647/);
    });
  }
});

describe('timers are checked like asks', () => {
  const bad: Array<[string, 'setTimer' | 'sleep', number, boolean]> = [
    ['a timer of NaN ms', 'setTimer', Number.NaN, false],
    ['a timer above the timer limit', 'setTimer', 2 ** 31, false],
    ['a repeating timer of 0 ms', 'setTimer', 0, true],
    ['a sleep of Infinity', 'sleep', Number.POSITIVE_INFINITY, false],
    ['a sleep of -1 ms', 'sleep', -1, false],
  ];
  for (const [what, type, delayMs, repeat] of bad) {
    it(`${what} fails the actor's turn with a RangeError naming the call`, async () => {
      const t = await sys.spawn(TimerUser, {});
      const err = await rejectionOf(sys.ask(t, { type, delayMs, repeat }));
      expect(err).toMatchObject({ name: 'RemoteActorError', remoteName: 'RangeError' });
      expect(err.message).toMatch(new RegExp(`${type}( t)?: delayMs: ${String(delayMs)} is not a number of ms`));
    });
  }

  it('a one-shot timer of 0 ms and a sleep of 0 ms are fine', async () => {
    const t = await sys.spawn(TimerUser, {});
    expect(await sys.ask(t, { type: 'setTimer', delayMs: 0, repeat: false })).toBe(true);
    expect(await sys.ask(t, { type: 'sleep', delayMs: 0 })).toBe(true);
  });
});
