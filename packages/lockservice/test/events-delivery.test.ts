import { describe, expect, test } from '@jest/globals';
import type { ClientEvent, LsClient } from '../src/index.ts';
import { inSimCell, masterNode, text } from './cell-harness.ts';

/** Watches until `done` holds of what arrived (or the simulated wait runs out). */
async function collect(client: LsClient, done: (events: ClientEvent[]) => boolean, waitMs = 20_000): Promise<ClientEvent[]> {
  const all: ClientEvent[] = [];
  for (let waited = 0; !done(all) && waited < waitMs; waited += 500) all.push(...(await client.watch({ waitMs: 500 })).events);
  return all;
}

const onHandle = (events: ClientEvent[], handle: number) => events.filter((e): e is Extract<ClientEvent, { handle: number }> => 'handle' in e && e.handle === handle);

describe('events reach a client at least once, in commit order', () => {
  test('events whose KeepAlive answers were lost come again, each heard once and in order', async () => {
    await inSimCell(21, async ({ sim, plan, clock }, a, b) => {
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent', events: ['contentsModified', 'lockAcquired'] })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await clock.sleep(100);
      // Every answer from the master to a's node is lost for a while: the ones carrying b's changes too.
      const master = (await masterNode(sim, plan))!;
      sim.partition([master], ['c0'], { oneWay: true });
      await b.setContents(hb, text('v1'));
      await b.tryAcquire(hb, 'exclusive');
      await b.release(hb);
      await b.setContents(hb, text('v2'));
      await clock.sleep(50);
      sim.heal();
      const events = await collect(a, (all) => onHandle(all, ha).length >= 3);
      await clock.sleep(2_000);
      events.push(...(await a.watch()).events);
      expect(onHandle(events, ha).map((e) => e.kind)).toEqual(['contentsModified', 'lockAcquired', 'contentsModified']);
      expect((await a.status()).state).toBe('live');
    }, { clients: 2 });
  });

  test("a new master owes a client \"master failed over\" for the old master's events it lost", async () => {
    await inSimCell(22, async ({ sim, plan, clock }, a, b) => {
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent', events: ['contentsModified', 'masterFailover'] })).handle;
      const quiet = (await a.open('/ls/test/g', { create: 'ifAbsent', events: ['contentsModified'] })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await clock.sleep(100);
      const old = (await masterNode(sim, plan))!;
      // The answer carrying b's change is lost, and the master dies before it sends it again.
      sim.partition([old], ['c0'], { oneWay: true });
      await b.setContents(hb, text('v1'));
      sim.crash(old);
      sim.heal();
      await clock.sleep(2_000);
      sim.restart(old);
      const events = await collect(a, (all) => onHandle(all, ha).some((e) => e.kind === 'masterFailover'));
      expect(onHandle(events, ha)).toContainEqual(expect.objectContaining({ kind: 'masterFailover', path: '/ls/test/f' }));
      // Only handles that subscribed hear it.
      expect(onHandle(events, quiet)).toEqual([]);
      expect((await a.status()).state).toBe('live');
    }, { clients: 2 });
  });
});
