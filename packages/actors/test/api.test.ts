import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorNode, ActorRef, ActorSystem, AskTimeoutError, DeliveryError, hashString, seededRandom, type DeadLetter, type LogLevel } from '../src/index.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { Counter } from './fixtures/kinds.ts';
import { Recorder, type Recorded, type RecorderMsg } from './fixtures/probes.ts';
import { Parent } from './fixtures/supervision-kinds.ts';
import { HANG_MS, rejectionOf } from './helpers.ts';

const modules = [
  new URL('./fixtures/kinds.ts', import.meta.url),
  new URL('./fixtures/probes.ts', import.meta.url),
  new URL('./fixtures/supervision-kinds.ts', import.meta.url),
];

let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: 2, modules });
});

afterAll(async () => {
  await sys.shutdown();
});

describe('spawn, tell and ask', () => {
  it('spawn hands the props to the setup, on main and on a worker', async () => {
    const local = await sys.spawn(Counter, { start: 41 });
    const remote = await sys.spawn(Counter, { start: 17 }, { node: 'w1' });
    expect(local.node).toBe('main');
    expect(remote.node).toBe('w1');
    expect(await sys.ask(local, { type: 'get' })).toBe(41);
    expect(await sys.ask(remote, { type: 'get' })).toBe(17);
  });

  it('a tell is handled before a later ask from the same sender', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    sys.tell(c, { type: 'add', by: 2 });
    sys.tell(c, { type: 'add', by: 3 });
    const n: number = await sys.ask(c, { type: 'get' });
    expect(n).toBe(5);
  });

  it('an actor can answer an ask later, from a timer, through its reply handle', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    expect(await sys.ask(c, { type: 'later', ms: 20 })).toBe('done');
  });

  it('an ask nobody answers rejects with an AskTimeoutError naming the message, target and timeout', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    // 'add' is a tell in the protocol: the actor handles it and never replies.
    const err = await rejectionOf(sys.ask(c, { type: 'add', by: 1 }, { timeoutMs: 50 }));
    expect(err).toBeInstanceOf(AskTimeoutError);
    expect(err.message).toBe(`ask add to ${c.id}@w1 timed out after 50 ms`);
    expect(err).toMatchObject({ target: `${c.id}@w1`, messageType: 'add', timeoutMs: 50 });
  });

  it('ctx.self is the ref the actor was spawned as, and arrives as an ActorRef', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w2', name: 'me' });
    const self = await sys.ask(r, { type: 'self' });
    expect(self).toBeInstanceOf(ActorRef);
    expect(self.equals(r)).toBe(true);
    expect(String(self)).toBe('me@w2');
  });
});

describe('stop and dead letters', () => {
  it('a tell to a stopped actor on main goes to dead letters as stopped, seen by every observer', async () => {
    const c = await sys.spawn(Counter, { start: 0 });
    expect(await sys.stop(c)).toBe(true);
    const seen: DeadLetter[] = [];
    const unsubscribe = sys.main.deadLetters.subscribe((d) => seen.push(d));
    const before = (await sys.stats()).deadLetters.byReason['stopped'] ?? 0;
    sys.tell(c, { type: 'add', by: 1 });
    unsubscribe();
    const expected = { target: `${c.id}@main`, reason: 'stopped', messageType: 'add' };
    expect(seen).toEqual([expect.objectContaining(expected)]);
    expect(sys.deadLetters().at(-1)).toEqual(expect.objectContaining(expected));
    expect((await sys.stats()).deadLetters.byReason['stopped']).toBe(before + 1);
  });

  it('a tell to a stopped actor on a worker is counted in that worker\'s dead letters', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    expect(await sys.stop(c)).toBe(true);
    const before = (await sys.stats('w1')).deadLetters.byReason['stopped'] ?? 0;
    sys.tell(c, { type: 'add', by: 1 });
    // An ask behind the tell (FIFO per pair) shows the tell has been handled by w1.
    await rejectionOf(sys.ask(c, { type: 'get' }));
    expect((await sys.stats('w1')).deadLetters.byReason['stopped']).toBe(before + 2);
  });

  it('an ask to a stopped actor fails fast with DeliveryError stopped, locally and across threads, named or not', async () => {
    for (const node of ['main', 'w1']) {
      for (const name of [undefined, `named-${node}`]) {
        const c = await sys.spawn(Counter, { start: 0 }, { node, ...(name ? { name } : {}) });
        await sys.stop(c);
        const err = await rejectionOf(sys.ask(c, { type: 'get' }, { timeoutMs: HANG_MS }));
        expect(err).toBeInstanceOf(DeliveryError);
        expect(err).toMatchObject({ reason: 'stopped', target: `${c.id}@${node}` });
      }
    }
  });

  it('an ask to an actor that never existed fails fast with DeliveryError no-such-actor', async () => {
    const ghost = new ActorRef<{ type: 'get' }>('w2', 'nobody-here');
    const err = await rejectionOf(sys.ask(ghost, { type: 'get' }, { timeoutMs: HANG_MS }));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toBe('cannot deliver to nobody-here@w2: no-such-actor');
  });

  it('messages queued when an actor stops go to dead letters as stopped, and queued asks fail with it', async () => {
    const c = await sys.spawn(Counter, { start: 0 });
    const seen: DeadLetter[] = [];
    const unsubscribe = sys.main.deadLetters.subscribe((d) => seen.push(d));
    // Nothing runs until this synchronous block ends, so all three wait in the mailbox.
    sys.tell(c, { type: 'add', by: 1 });
    const queuedAsk = sys.ask(c, { type: 'get' }, { timeoutMs: HANG_MS });
    const stopped = sys.stop(c);
    unsubscribe();
    expect(await stopped).toBe(true);
    const err = await rejectionOf(queuedAsk);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ reason: 'stopped' });
    expect(seen.map((d) => [d.reason, d.messageType])).toEqual([
      ['stopped', 'add'],
      ['stopped', 'get'],
    ]);
  });

  it('stop reports false for an actor that does not exist', async () => {
    expect(await sys.stop(new ActorRef('main', 'never-was'))).toBe(false);
    expect(await sys.stop(new ActorRef('w1', 'never-was'))).toBe(false);
  });
});

describe('child actors', () => {
  it('ctx.spawn makes a child on the parent\'s node, listed among its children', async () => {
    const parent = await sys.spawn(Parent, {}, { node: 'w1' });
    const child = await sys.ask(parent, { type: 'spawn' });
    expect(child.node).toBe('w1');
    expect(await sys.ask(child, { type: 'add', by: 4 })).toBe(4);
    const children = await sys.ask(parent, { type: 'children' });
    expect(children.map(String)).toEqual([String(child)]);
  });

  it('stopping a parent stops its children', async () => {
    const parent = await sys.spawn(Parent, {}, { node: 'w2' });
    const a = await sys.ask(parent, { type: 'spawn' });
    const b = await sys.ask(parent, { type: 'spawn' });
    await sys.stop(parent);
    for (const child of [a, b]) {
      const err = await rejectionOf(sys.ask(child, { type: 'get' }, { timeoutMs: HANG_MS }));
      expect(err).toMatchObject({ name: 'DeliveryError', reason: 'stopped' });
    }
  });

  it('ctx.stop(child) stops that child only', async () => {
    const parent = await sys.spawn(Parent, {});
    const a = await sys.ask(parent, { type: 'spawn' });
    const b = await sys.ask(parent, { type: 'spawn' });
    expect(await sys.ask(parent, { type: 'stopChild', ref: a })).toBe(true);
    await expect(sys.ask(a, { type: 'get' })).rejects.toMatchObject({ reason: 'stopped' });
    expect(await sys.ask(b, { type: 'add', by: 1 })).toBe(1);
    expect((await sys.ask(parent, { type: 'children' })).map(String)).toEqual([String(b)]);
  });
});

describe('watch', () => {
  const waitFor = (r: ActorRef<RecorderMsg>, count: number) => sys.ask(r, { type: 'wait', count }, { timeoutMs: 5_000 });

  it('a watcher gets its chosen message when a watched actor on its own node stops', async () => {
    const watcher = await sys.spawn(Recorder, {}, { node: 'w1' });
    const target = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    sys.tell(watcher, { type: 'watch', ref: target, tag: 'same-node' });
    await sys.ask(watcher, { type: 'recorded' }); // the watch is registered
    await sys.stop(target);
    expect(await waitFor(watcher, 1)).toEqual([{ type: 'terminated', tag: 'same-node' }]);
  });

  it('a watcher gets its chosen message when a watched actor on another node stops', async () => {
    const onMain = await sys.spawn(Recorder, {});
    const onW2 = await sys.spawn(Recorder, {}, { node: 'w2' });
    const target = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    sys.tell(onMain, { type: 'watch', ref: target, tag: 'from-main' });
    sys.tell(onW2, { type: 'watch', ref: target, tag: 'from-w2' });
    await sys.ask(onW2, { type: 'recorded' });
    await sys.stop(target);
    expect(await waitFor(onMain, 1)).toEqual([{ type: 'terminated', tag: 'from-main' }]);
    expect(await waitFor(onW2, 1)).toEqual([{ type: 'terminated', tag: 'from-w2' }]);
  });

  it('watching an actor that is already gone gives the notice at once, locally and remotely', async () => {
    const watcher = await sys.spawn(Recorder, {}, { node: 'w2' });
    sys.tell(watcher, { type: 'watch', ref: new ActorRef('w2', 'gone'), tag: 'local' });
    sys.tell(watcher, { type: 'watch', ref: new ActorRef('w1', 'gone'), tag: 'remote' });
    const notices = await waitFor(watcher, 2);
    expect(notices).toEqual(
      expect.arrayContaining([
        { type: 'terminated', tag: 'local' },
        { type: 'terminated', tag: 'remote' },
      ]),
    );
  });

  it('after unwatch, the actor\'s stop sends no notice', async () => {
    const watcher = await sys.spawn(Recorder, {});
    const target = await sys.spawn(Counter, { start: 0 });
    sys.tell(watcher, { type: 'watch', ref: target, tag: 'unwatched' });
    sys.tell(watcher, { type: 'unwatch', ref: target });
    await sys.ask(watcher, { type: 'recorded' });
    await sys.stop(target);
    // On one node a stop notifies synchronously, so a notice would be recorded before this note.
    sys.tell(watcher, { type: 'note', value: 'after-stop' });
    expect(await waitFor(watcher, 1)).toEqual([{ type: 'note', value: 'after-stop' }]);
  });

  it('watchers on other nodes are told when the watched actor\'s node thread dies', async () => {
    const onMain = await sys.spawn(Recorder, {});
    const onW1 = await sys.spawn(Recorder, {}, { node: 'w1' });
    const target = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    sys.tell(onMain, { type: 'watch', ref: target, tag: 'main-saw-w2-die' });
    sys.tell(onW1, { type: 'watch', ref: target, tag: 'w1-saw-w2-die' });
    await sys.ask(onW1, { type: 'recorded' });
    await sys.crashNode('w2');
    try {
      expect(await waitFor(onMain, 1)).toEqual([{ type: 'terminated', tag: 'main-saw-w2-die' }]);
      expect(await waitFor(onW1, 1)).toEqual([{ type: 'terminated', tag: 'w1-saw-w2-die' }]);
    } finally {
      await sys.startNode('w2');
    }
  });
});

describe('timers', () => {
  const ticks = (rs: Recorded[]) => rs.map((r) => (r.type === 'tick' ? r.tag : `?${r.type}`));

  it('a one-shot timer fires once', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w1' });
    sys.tell(r, { type: 'timer', key: 'once', delayMs: 10, tag: 'once', repeat: false });
    expect(ticks(await sys.ask(r, { type: 'wait', count: 1 }))).toEqual(['once']);
    // Timers fire in the order they are due: a second firing would come before a later timer's.
    sys.tell(r, { type: 'timer', key: 'later', delayMs: 60, tag: 'later', repeat: false });
    expect(ticks(await sys.ask(r, { type: 'wait', count: 2 }))).toEqual(['once', 'later']);
  });

  it('a repeating timer fires until it is cancelled', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w1' });
    sys.tell(r, { type: 'timer', key: 'beat', delayMs: 5, tag: 'beat', repeat: true });
    expect((await sys.ask(r, { type: 'wait', count: 3 })).length).toBeGreaterThanOrEqual(3);
    sys.tell(r, { type: 'cancel', key: 'beat' });
    const atCancel = (await sys.ask(r, { type: 'recorded' })).length;
    sys.tell(r, { type: 'timer', key: 'later', delayMs: 50, tag: 'later', repeat: false });
    expect(ticks(await sys.ask(r, { type: 'wait', count: atCancel + 1 })).slice(atCancel)).toEqual(['later']);
  });

  it('setting a timer under a key in use replaces the earlier timer', async () => {
    const r = await sys.spawn(Recorder, {});
    sys.tell(r, { type: 'timer', key: 'k', delayMs: 40, tag: 'first', repeat: false });
    sys.tell(r, { type: 'timer', key: 'k', delayMs: 5, tag: 'second', repeat: false });
    expect(ticks(await sys.ask(r, { type: 'wait', count: 1 }))).toEqual(['second']);
    sys.tell(r, { type: 'timer', key: 'later', delayMs: 80, tag: 'later', repeat: false });
    expect(ticks(await sys.ask(r, { type: 'wait', count: 2 }))).toEqual(['second', 'later']);
  });
});

describe('clock, randomness and logging', () => {
  it('now() is wall-clock time in the real runtime, on every node', async () => {
    for (const node of ['main', 'w1']) {
      const r = await sys.spawn(Recorder, {}, { node });
      const before = Date.now();
      const t = await sys.ask(r, { type: 'now' });
      const after = Date.now();
      // The node's clock is performance-based; allow for its drift from Date.now.
      expect(t).toBeGreaterThanOrEqual(before - 50);
      expect(t).toBeLessThanOrEqual(after + 50);
    }
  });

  it('random() gives the same sequence for the same seed and actor name, and another for another seed or name', async () => {
    const systems = await Promise.all([7, 7, 8].map((seed) => ActorSystem.start({ seed })));
    try {
      const draw = async (s: ActorSystem, name: string) => s.ask(await s.spawn(Recorder, {}, { name }), { type: 'random', count: 8 });
      const [a, b, c] = await Promise.all(systems.map((s) => draw(s, 'dice')));
      const otherName = await draw(systems[0]!, 'coin');
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      expect(a).not.toEqual(otherName);
      for (const x of [...a!, ...c!]) expect(x >= 0 && x < 1).toBe(true);
      expect(new Set(a).size).toBe(8);
    } finally {
      await Promise.all(systems.map((s) => s.shutdown()));
    }
  });

  it('random() on a worker node started again draws fresh values; the same seed replays every start', async () => {
    /** What an actor named dice on w1 draws in each of two starts of w1. */
    const drawsPerStart = async (): Promise<number[][]> => {
      const s = await ActorSystem.start({ seed: 7, workers: ['w1'], modules });
      try {
        const draws: number[][] = [];
        for (let i = 0; i < 2; i++) {
          if (i > 0) {
            await s.stopNode('w1');
            await s.startNode('w1');
          }
          draws.push(await s.ask(await s.spawn(Recorder, {}, { name: 'dice', node: 'w1' }), { type: 'random', count: 4 }));
        }
        return draws;
      } finally {
        await s.shutdown();
      }
    };
    const draws = await drawsPerStart();
    expect(draws[1]).not.toEqual(draws[0]);
    expect(await drawsPerStart()).toEqual(draws);
  });

  it('random() after a whole system restarts over the same data directory draws fresh values on every node; a fresh directory replays the first start', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'restarts-')), mkdtempSync(join(tmpdir(), 'restarts-'))];
    /** What an actor named dice draws on main and on w1 in one system over dataDir. */
    const drawsOver = async (dataDir: string): Promise<number[][]> => {
      const s = await ActorSystem.start({ seed: 7, workers: ['w1'], modules, dataDir });
      try {
        return await Promise.all(['main', 'w1'].map(async (node) => s.ask(await s.spawn(Recorder, {}, { name: 'dice', node }), { type: 'random', count: 4 })));
      } finally {
        await s.shutdown();
      }
    };
    try {
      const first = await drawsOver(dirs[0]!);
      const second = await drawsOver(dirs[0]!);
      const third = await drawsOver(dirs[0]!);
      for (const node of [0, 1]) {
        expect(new Set([first, second, third].map((d) => JSON.stringify(d[node]))).size).toBe(3);
      }
      expect(await drawsOver(dirs[1]!)).toEqual(first);
      // The first start's stream is the one seeded before starts were counted.
      const expected = seededRandom(hashString('dice', hashString('main', 7)));
      expect(first[0]).toEqual([expected(), expected(), expected(), expected()]);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it('random() is seeded with the node\'s name too: same-named actors on different nodes draw different values', async () => {
    const draws = await Promise.all(
      ['main', 'w1', 'w2'].map(async (node) => sys.ask(await sys.spawn(Recorder, {}, { name: 'twin', node }), { type: 'random', count: 4 })),
    );
    expect(new Set(draws.map((d) => JSON.stringify(d))).size).toBe(3);
    await Promise.all(['main', 'w1', 'w2'].map((node) => sys.stop(new ActorRef(node, 'twin'))));
  });

  it('random() of an actor stopped and spawned again under its name on a running worker node draws a fresh stream', async () => {
    const draws: number[][] = [];
    for (let i = 0; i < 2; i++) {
      const ref = await sys.spawn(Recorder, {}, { name: 'phoenix', node: 'w1' });
      draws.push(await sys.ask(ref, { type: 'random', count: 4 }));
      await sys.stop(ref);
    }
    expect(draws[1]).not.toEqual(draws[0]);
  });

  it('ctx.log writes to the node\'s sink, tagged with the actor\'s address and the node\'s time', async () => {
    const lines: Array<{ level: LogLevel; time: number; source: string; msg: string; fields?: Record<string, unknown> }> = [];
    const node = new ActorNode({
      name: 'logs',
      env: realEnv,
      seed: 1,
      logSink: (level, time, source, msg, fields) => lines.push({ level, time, source, msg, ...(fields ? { fields } : {}) }),
      openStore: () => {
        throw new Error('this test uses no storage');
      },
    });
    const r = node.spawn(Recorder, {}, { name: 'chatty' });
    const before = Date.now();
    expect(await node.ask(r, { type: 'log', text: 'hello' })).toBe(true);
    expect(lines).toEqual([{ level: 'info', time: expect.any(Number), source: 'chatty@logs', msg: 'hello', fields: { from: 'recorder' } }]);
    expect(lines[0]!.time).toBeGreaterThanOrEqual(before - 5);
    await node.shutdown();
  });
});
