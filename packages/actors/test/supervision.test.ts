import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorSystem, DeliveryError, RemoteActorError, type ActorRef, type AnyRef } from '../src/index.ts';
import { Doomed, Flaky, Parent, type FlakyMsg } from './fixtures/supervision-kinds.ts';
import { Kv } from './fixtures/storage-kinds.ts';
import { SimCluster } from '../src/testing/index.ts';
import { HANG_MS, rejectionOf } from './helpers.ts';

const modules = [new URL('./fixtures/supervision-kinds.ts', import.meta.url), new URL('./fixtures/storage-kinds.ts', import.meta.url)];

let sys: ActorSystem;

beforeAll(async () => {
  // Failures are logged at error level by design; these tests cause many of them on purpose.
  sys = await ActorSystem.start({ workers: 1, modules });
});

afterAll(async () => {
  await sys.shutdown();
});

const fail = (ref: ActorRef<FlakyMsg>, message = 'kaput') => rejectionOf(sys.ask(ref, { type: 'fail', message }));

/** The actor is gone: an ask fails fast with stopped (its node remembers the actor stopped). */
async function expectStopped(ref: AnyRef): Promise<void> {
  const err = await rejectionOf(sys.ask(ref as ActorRef<{ type: 'get' }>, { type: 'get' }, { timeoutMs: HANG_MS }));
  expect(err).toBeInstanceOf(DeliveryError);
  expect(err).toMatchObject({ reason: 'stopped' });
}

describe('failures reach the asker', () => {
  it('an ask whose handling throws rejects with RemoteActorError naming the actor and the error', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1' });
    const err = await fail(f, 'kaput');
    expect(err).toBeInstanceOf(RemoteActorError);
    expect(err.message).toBe(`${f.id}@w1 failed: Error: kaput`);
    expect(err).toMatchObject({ target: `${f.id}@w1`, remoteName: 'Error' });
  });

  it('the error\'s own name survives, whether the receive throws or its promise rejects', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1' });
    for (const async of [false, true]) {
      const err = await rejectionOf(sys.ask(f, { type: 'fail', message: 'over quota', quota: true, async }));
      expect(err).toBeInstanceOf(RemoteActorError);
      expect(err).toMatchObject({ remoteName: 'QuotaExceeded', message: `${f.id}@w1 failed: QuotaExceeded: over quota` });
    }
  });
});

describe('restart', () => {
  it('a restarted actor starts again from its props, and rebuilds durable state from storage', async () => {
    const f = await sys.spawn(Flaky, { start: 10 }, { node: 'w1' });
    expect(await sys.ask(f, { type: 'add', by: 5 })).toBe(15);
    await fail(f);
    expect(await sys.ask(f, { type: 'get' })).toEqual({ n: 10, durable: 5, incarnation: 2 });
  });

  it('a restart keeps the mailbox: the failed message is not retried, and the ones behind it are handled', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1' });
    sys.tell(f, { type: 'fail', message: 'first' });
    sys.tell(f, { type: 'add', by: 1 });
    expect(await sys.ask(f, { type: 'get' })).toEqual({ n: 1, durable: 1, incarnation: 2 });
  });

  it('after maxRestarts restarts within withinMs, the next failure stops the actor', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1', supervision: { maxRestarts: 2, withinMs: 60_000 } });
    await fail(f);
    await fail(f);
    expect(await sys.ask(f, { type: 'get' })).toMatchObject({ incarnation: 3 });
    await fail(f);
    await expectStopped(f);
  });

  it('restarts older than withinMs no longer count toward the limit', async () => {
    // In the simulator: the window is virtual time, so a loaded machine cannot stretch it.
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    const f = sim.spawn('a', Flaky, { start: 0 }, { supervision: { maxRestarts: 1, withinMs: 150 } });
    const simFail = () => rejectionOf(sim.call(f, { type: 'fail', message: 'kaput' }));
    await simFail();
    await sim.runFor(200);
    await simFail(); // the first restart has left the window: restarted again
    expect(await sim.call(f, { type: 'get' })).toMatchObject({ incarnation: 3 });
    await simFail(); // the second is still inside it: stopped
    expect(await rejectionOf(sim.call(f, { type: 'get' }))).toMatchObject({ name: 'DeliveryError', reason: 'stopped' });
  });

  it('a setup that throws at spawn makes spawn fail with its error, and nothing is restarted', async () => {
    const err = await rejectionOf(sys.spawn(Doomed, {}, { node: 'w1', name: 'doomed', supervision: { maxRestarts: 3 } }));
    expect(err.message).toMatch(/setup always fails/);
    // The name is also the persistence id: another actor under it reads what the setup wrote.
    const inspector = await sys.spawn(Kv, {}, { node: 'w1', name: 'doomed' });
    expect(await sys.ask(inspector, { type: 'get', key: 'attempts' })).toBe(1);
  });
});

describe('stop, resume and escalate', () => {
  it('stop: a failing actor with the stop strategy is stopped', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1', supervision: { onFailure: 'stop' } });
    expect(await fail(f)).toBeInstanceOf(RemoteActorError);
    await expectStopped(f);
  });

  it('resume: the actor keeps its state and goes on with the next message', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1', supervision: { onFailure: 'resume' } });
    await sys.ask(f, { type: 'add', by: 5 });
    await fail(f);
    await fail(f);
    expect(await sys.ask(f, { type: 'get' })).toEqual({ n: 5, durable: 5, incarnation: 1 });
  });

  it('a child restarted under its own strategy leaves its parent undisturbed', async () => {
    const parent = await sys.spawn(Parent, {}, { node: 'w1' });
    expect(await sys.ask(parent, { type: 'bump' })).toBe(1);
    const child = await sys.ask(parent, { type: 'spawn' });
    await fail(child);
    expect(await sys.ask(child, { type: 'get' })).toMatchObject({ incarnation: 2 });
    expect(await sys.ask(parent, { type: 'bump' })).toBe(2);
  });

  it('escalate: the failing child is stopped and its parent fails, which restarts the parent and stops its other children', async () => {
    const parent = await sys.spawn(Parent, {}, { node: 'w1' });
    expect(await sys.ask(parent, { type: 'bump' })).toBe(1);
    const escalating = await sys.ask(parent, { type: 'spawn', strategy: { onFailure: 'escalate' } });
    const sibling = await sys.ask(parent, { type: 'spawn' });
    expect(await fail(escalating, 'child trouble')).toMatchObject({ name: 'RemoteActorError', remoteName: 'Error' });
    // The parent ran its setup again: its in-memory count is back to zero.
    expect(await sys.ask(parent, { type: 'bump' })).toBe(1);
    expect(await sys.ask(parent, { type: 'children' })).toEqual([]);
    await expectStopped(escalating);
    await expectStopped(sibling);
  });

  it('escalate from an actor with no parent stops it', async () => {
    const f = await sys.spawn(Flaky, { start: 0 }, { node: 'w1', supervision: { onFailure: 'escalate' } });
    await fail(f);
    await expectStopped(f);
  });
});
