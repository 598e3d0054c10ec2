import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorNode, ActorRef, ActorSystem, MemoryStore, type SpawnOptions } from '../src/index.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { BadSetup, Fragile, Spawner } from './fixtures/hardening-kinds.ts';
import { Kv } from './fixtures/storage-kinds.ts';
import { HANG_MS, rejectionOf } from './helpers.ts';

const modules = [new URL('./fixtures/hardening-kinds.ts', import.meta.url)];
let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['w1'], modules, logLevel: 'silent' });
});

afterAll(async () => {
  await sys.shutdown();
});

describe('spawn tells the truth', () => {
  for (const node of ['main', 'w1']) {
    for (const async of [false, true]) {
      it(`a kind whose setup ${async ? 'rejects' : 'throws'} makes spawn on ${node} fail with that error, and leaves no actor`, async () => {
        const before = (await sys.stats(node)).actors;
        const err = await rejectionOf(sys.spawn(BadSetup, { async }, { node, name: `bad-${String(async)}` }));
        expect(err.message).toMatch(async ? /async setup says no/ : /setup says no/);
        expect((await sys.stats(node)).actors).toBe(before);
      });
    }
  }

  it('ctx.spawn of a kind whose setup throws throws into the parent\'s turn', async () => {
    const parent = await sys.spawn(Spawner, {}, { node: 'w1' });
    const err = await rejectionOf(sys.ask(parent, { type: 'spawnBad' }));
    expect(err).toMatchObject({ name: 'RemoteActorError', remoteName: 'Error' });
    expect(err.message).toMatch(/setup says no/);
    expect(await sys.ask(parent, { type: 'ping' })).toBe('pong'); // restarted by its supervisor, serving
  });
});

describe('restarts', () => {
  it('a restart whose setup keeps throwing loops without recursion, even at maxRestarts 100,000, then stops the actor', async () => {
    const maxRestarts = 100_000;
    const f = await sys.spawn(Fragile, {}, { name: 'fragile', supervision: { maxRestarts, withinMs: 3_600_000 } });
    sys.tell(f, { type: 'fail' });
    const err = await rejectionOf(sys.ask(f, { type: 'setups' }, { timeoutMs: 2 * HANG_MS }));
    expect(err).toMatchObject({ name: 'DeliveryError', reason: 'stopped' });
    // The first setup, then one per restart: every restart ran its setup once.
    const inspector = await sys.spawn(Kv, {}, { name: 'fragile' });
    expect(await sys.ask(inspector, { type: 'get', key: 'setups' })).toBe(maxRestarts + 1);
  });
});

describe('dead-letter reasons', () => {
  it('a message to a stopped actor is stopped, to one that never was no-such-actor; a node remembers 10,000 stopped names', () => {
    const node = new ActorNode({ name: 'n', env: realEnv, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
    const reasons = (): Partial<Record<string, number>> => ({ ...node.stats().deadLetters.byReason });
    const first = node.spawn(Spawner, {}, { name: 'first' });
    const generated = node.spawn(Spawner, {});
    node.stopActor(first.id);
    node.stopActor(generated.id);
    node.tell(first, { type: 'ping' });
    node.tell(generated, { type: 'ping' });
    node.tell(new ActorRef('n', 'never'), { type: 'ping' });
    node.tell(new ActorRef('n', '~zz'), { type: 'ping' }); // a generated id not yet handed out
    expect(reasons()).toEqual({ stopped: 2, 'no-such-actor': 2 });
    for (let i = 0; i < 10_000; i++) node.stopActor(node.spawn(Spawner, {}, { name: `other-${i}` }).id);
    node.tell(first, { type: 'ping' });
    expect(reasons()).toEqual({ stopped: 2, 'no-such-actor': 3 }); // forgotten: the oldest name went first
  });
});

describe('spawn options are checked, not coerced', () => {
  const bad: Array<[string, SpawnOptions, RegExp]> = [
    ['a mailboxCapacity of NaN', { mailboxCapacity: Number.NaN }, /spawn option mailboxCapacity: NaN is not a whole number above 0/],
    ['a mailboxCapacity of 0', { mailboxCapacity: 0 }, /spawn option mailboxCapacity: 0/],
    ['an unknown onFailure', { supervision: { onFailure: 'retry' as 'restart' } }, /spawn option supervision.onFailure: "retry" is not one of restart, stop, escalate, resume/],
    ['a maxRestarts of -1', { supervision: { maxRestarts: -1 } }, /spawn option supervision.maxRestarts: -1/],
    ['a withinMs of NaN', { supervision: { withinMs: Number.NaN } }, /spawn option supervision.withinMs: NaN/],
    ['a name that is not a string', { name: 42 as unknown as string }, /bad actor name 42/],
  ];
  for (const node of ['main', 'w1']) {
    for (const [what, opts, message] of bad) {
      it(`${what} fails spawn on ${node}`, async () => {
        await expect(sys.spawn(Spawner, {}, { node, ...opts })).rejects.toThrow(message);
      });
    }
  }
});
