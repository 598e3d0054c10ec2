import { expect, test } from '@jest/globals';
import { cellDb, inSimCell, masterNode } from './cell-harness.ts';

const LOCK = '/ls/test/lock';

// What seed 422 of cell-faults once replayed (before the op mix changed; no seed below 600 does
// now): the master lost mastership while a blocking acquire's try was in the log, the next
// master's log granted it, and the client, told "nothing was done", asked again and heard
// ALREADY_HELD, so it never learnt it held the lock.
test("a blocking acquire whose master loses mastership with the try in the log learns it holds the lock", async () => {
  await inSimCell(61, async ({ sim, plan, clock }, a) => {
    const ha = (await a.open(LOCK, { create: 'ifAbsent' })).handle;
    const master = (await masterNode(sim, plan))!;
    const others = plan.config.nodes.filter((n) => n !== master);
    // The master's accepts reach the acceptors, but nothing comes back: the try is chosen while
    // the master cannot learn it, and its leadership runs out.
    sim.partition(others, [master], { oneWay: true });
    const acquiring = a.acquire(ha, 'exclusive', 20_000);
    await clock.sleep(1_500);
    sim.heal();
    const seq = await acquiring;
    expect(seq.lock).toBe(LOCK);
    const session = (await a.status()).session!;
    await clock.sleep(100);
    const held = (await cellDb(sim, plan)).query({ type: 'heldLocks', path: LOCK });
    expect(held).toMatchObject({ ok: true, result: { locks: [{ path: LOCK, generation: seq.generation, holders: [{ session }] }] } });
    // It holds it: its release succeeds.
    await a.release(ha);
  }, { maxMs: 30_000 });
});
