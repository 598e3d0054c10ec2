import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorRef, ActorSystem, DeliveryError, defineActor, type DeadLetter } from '../src/index.ts';
import { Counter, type CounterMsg } from './fixtures/kinds.ts';
import { Relay } from './fixtures/probes.ts';
import { Kv } from './fixtures/storage-kinds.ts';
import { HANG_MS, rejectionOf } from './helpers.ts';

const modules = [
  new URL('./fixtures/kinds.ts', import.meta.url),
  new URL('./fixtures/probes.ts', import.meta.url),
  new URL('./fixtures/storage-kinds.ts', import.meta.url),
];

/** Defined here only: no worker imports this file, so no worker knows this kind. */
const MainOnly = defineActor('test.main-only', () => () => undefined);

let sys: ActorSystem;
const downs: string[] = [];

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['w1', 'w2'], modules });
  sys.onNodeDown((node) => downs.push(node));
});

afterAll(async () => {
  await sys.shutdown();
});

/** Runs `body` with w2 dead (by `how`), then starts w2 again whatever happened. */
async function withW2Dead(how: 'crashNode' | 'killNode' | 'stopNode', body: () => Promise<void>): Promise<void> {
  await sys[how]('w2');
  try {
    await body();
  } finally {
    await sys.startNode('w2');
  }
}

describe('spawn and stop from main', () => {
  it('spawn and stop on a worker change its actor count; stopping twice reports false', async () => {
    const before = (await sys.stats('w1')).actors;
    const a = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    expect((await sys.stats('w1')).actors).toBe(before + 2);
    expect(await sys.stop(a)).toBe(true);
    expect((await sys.stats('w1')).actors).toBe(before + 1);
    expect(await sys.stop(a)).toBe(false);
  });

  it('spawning a kind the worker has not loaded fails with an error that says so', async () => {
    await expect(sys.spawn(MainOnly, {}, { node: 'w1' })).rejects.toThrow('unknown actor kind test.main-only on node w1 (is its module loaded?)');
  });

  it('spawning under a name already in use on that node fails', async () => {
    await sys.spawn(Counter, { start: 0 }, { node: 'w1', name: 'taken' });
    await expect(sys.spawn(Counter, { start: 0 }, { node: 'w1', name: 'taken' })).rejects.toThrow('actor taken already exists on node w1');
    // The same name on another node is another actor.
    const other = await sys.spawn(Counter, { start: 1 }, { node: 'w2', name: 'taken' });
    expect(await sys.ask(other, { type: 'get' })).toBe(1);
  });

  it('a name that could collide with generated ids or system endpoints is refused', async () => {
    for (const name of ['', '~1', '$sys', 'a@w1']) {
      await expect(sys.spawn(Counter, { start: 0 }, { node: 'w1', name })).rejects.toThrow(`bad actor name ${JSON.stringify(name)}`);
    }
  });

  it('spawning on a node that is not running fails at once', async () => {
    await expect(sys.spawn(Counter, { start: 0 }, { node: 'w7' })).rejects.toThrow('node w7 is not running');
  });
});

describe('stats', () => {
  it('report mailbox depths, messages in and out, and dead letters', async () => {
    const busy = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    const idle = await sys.spawn(Counter, { start: 0 }, { node: 'w1' });
    const before = await sys.stats('w1');
    // One synchronous run, so one batch: once idle answers, all of these are in their mailboxes.
    // The pause outlasts the two stats calls by far even on a loaded machine (100 ms did not: its
    // reply was counted once at a load of 10 on 2 cores).
    const pause = sys.ask(busy, { type: 'pause', ms: 3_000 });
    for (let i = 0; i < 5; i++) sys.tell(busy, { type: 'add', by: 1 });
    sys.tell(new ActorRef<CounterMsg>('w1', 'no-one'), { type: 'add', by: 1 });
    await sys.ask(idle, { type: 'get' });
    const during = await sys.stats('w1');
    expect(during.deepestMailboxes[0]).toEqual({ actor: busy.id, depth: 5 });
    expect(during.mailboxTotal).toBe(5);
    expect(during.messagesIn - before.messagesIn).toBe(7); // pause, five adds, get
    expect(during.messagesOut - before.messagesOut).toBe(1); // the get's reply
    expect(during.deadLetters.total - before.deadLetters.total).toBe(1);
    expect((during.deadLetters.byReason['no-such-actor'] ?? 0) - (before.deadLetters.byReason['no-such-actor'] ?? 0)).toBe(1);
    await pause;
    await sys.ask(busy, { type: 'get' });
    const after = await sys.stats('w1');
    expect(after.mailboxTotal).toBe(0);
    expect(after.processed - before.processed).toBe(8);
  });
});

describe('node lifecycle', () => {
  it('a node stopped gracefully leaves the system, and one started again keeps what its actors wrote', async () => {
    const kv = await sys.spawn(Kv, {}, { node: 'w2', name: 'graceful' });
    // Acknowledged at once; durable only with a later commit, which the graceful stop must sync.
    await sys.ask(kv, { type: 'putNow', key: 'x', value: 42 });
    await withW2Dead('stopNode', async () => {
      expect(sys.nodes()).toEqual(['main', 'w1']);
    });
    expect(sys.nodes()).toEqual(['main', 'w1', 'w2']);
    const again = await sys.spawn(Kv, {}, { node: 'w2', name: 'graceful' });
    expect(await sys.ask(again, { type: 'get', key: 'x' })).toBe(42);
  });

  for (const how of ['crashNode', 'killNode'] as const) {
    it(`after ${how}, asks to the node's actors fail fast with DeliveryError node-down and tells go to dead letters`, async () => {
      const c = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
      downs.length = 0;
      await withW2Dead(how, async () => {
        expect(sys.nodes()).toEqual(['main', 'w1']);
        expect(downs).toEqual(['w2']);
        const err = await rejectionOf(sys.ask(c, { type: 'get' }, { timeoutMs: HANG_MS }));
        expect(err).toBeInstanceOf(DeliveryError);
        expect(err).toMatchObject({ reason: 'node-down', target: `${c.id}@w2` });
        const seen: DeadLetter[] = [];
        const unsubscribe = sys.main.deadLetters.subscribe((d) => seen.push(d));
        sys.tell(c, { type: 'add', by: 1 });
        unsubscribe();
        expect(seen).toEqual([expect.objectContaining({ target: `${c.id}@w2`, reason: 'node-down', messageType: 'add' })]);
      });
    });
  }

  it('a node-down listener hears each death until it unsubscribes', async () => {
    const heard: string[] = [];
    const unsubscribe = sys.onNodeDown((node) => heard.push(node));
    await withW2Dead('killNode', async () => undefined);
    unsubscribe();
    await withW2Dead('killNode', async () => undefined);
    expect(heard).toEqual(['w2']);
  });

  it('an ask in flight when its target\'s node dies fails at once with node-down', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    const idle = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    const pending = sys.ask(c, { type: 'pause', ms: HANG_MS }, { timeoutMs: 2 * HANG_MS });
    await sys.ask(idle, { type: 'get' }); // same batch as the pause: once answered, the pause is under way
    await withW2Dead('crashNode', async () => {
      const err = await rejectionOf(pending);
      expect(err).toMatchObject({ name: 'DeliveryError', reason: 'node-down' });
    });
  });

  it('actors on the other workers see the dead node as down too', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    const relay = await sys.spawn(Relay, {}, { node: 'w1' });
    await withW2Dead('killNode', async () => {
      const outcome = await sys.ask(relay, { type: 'ask', to: c, msg: { type: 'get' }, timeoutMs: HANG_MS }, { timeoutMs: 2 * HANG_MS });
      expect(outcome).toMatchObject({ ok: false, name: 'DeliveryError', reason: 'node-down' });
    });
  });

  it('a node started again is a new incarnation: old refs find no actor, new actors are reachable from every node', async () => {
    const old = await sys.spawn(Counter, { start: 0 }, { node: 'w2' });
    await withW2Dead('crashNode', async () => undefined);
    const err = await rejectionOf(sys.ask(old, { type: 'get' }, { timeoutMs: HANG_MS }));
    expect(err).toMatchObject({ name: 'DeliveryError', reason: 'no-such-actor' });
    const fresh = await sys.spawn(Counter, { start: 8 }, { node: 'w2' });
    expect(await sys.ask(fresh, { type: 'get' })).toBe(8);
    const relay = await sys.spawn(Relay, {}, { node: 'w1' });
    expect(await sys.ask(relay, { type: 'ask', to: fresh, msg: { type: 'get' } })).toEqual({ ok: true, value: 8 });
  });
});
