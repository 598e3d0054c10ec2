import { describe, expect, test } from '@jest/globals';
import { inSimCell, masterNode, text } from './cell-harness.ts';

const CLIENTS = 8;

/**
 * Eight clients with a file open each; then the replicas still answer clients but none reaches
 * another for `outageMs`: the master is deposed and no other can be elected. Returns the messages
 * each client node sent per second from the cut until every session was live again, after a
 * write through each client succeeded.
 */
async function failover(seed: number, outageMs: number): Promise<number> {
  const nodes = Array.from({ length: CLIENTS }, (_, i) => `c${i}`);
  let perClientPerSecond = 0;
  await inSimCell(seed, async ({ sim, plan, clock }, ...clients) => {
    const sent = (): number => nodes.reduce((sum, n) => sum + sim.node(n).stats().messagesOut, 0);
    const handles = await Promise.all(clients.map(async (c, i) => (await c.open(`/ls/test/f${i}`, { create: 'ifAbsent' })).handle));
    const before = sent();
    const cutAt = sim.now();
    const replicas = plan.config.nodes;
    replicas.forEach((n) => sim.partition([n], replicas.filter((m) => m !== n)));
    await clock.sleep(outageMs);
    sim.heal();
    await masterNode(sim, plan);
    for (;;) {
      const states = (await Promise.all(clients.map((c) => c.status()))).map((s) => s.state);
      expect(states).not.toContain('expired');
      if (states.every((s) => s === 'live')) break;
      await clock.sleep(10);
    }
    perClientPerSecond = (sent() - before) / CLIENTS / ((sim.now() - cutAt) / 1000);
    await Promise.all(clients.map((c, i) => c.setContents(handles[i]!, text('after'))));
  }, { clients: CLIENTS, maxMs: 30_000 });
  return perClientPerSecond;
}

describe('KeepAlive retries through a failover', () => {
  test('clients that lost their master back off instead of asking every server every 50 ms, and every session survives', async () => {
    // 1 s lease, 3 s grace, 2 s without a master. Retrying every 50 ms this was 57 messages a
    // second per client; backing off (to a quarter lease here), 24.
    expect(await failover(41, 2_000)).toBeLessThan(40);
  });

  test('sessions survive a master-less stretch that ends near the end of their grace period', async () => {
    // Jeopardy starts within a lease (1 s) of the cut; the grace period (3 s) ends 4 s after the
    // cut at the earliest; a new master is elected some 0.2-0.4 s after the heal.
    await failover(42, 3_200);
  });
});
