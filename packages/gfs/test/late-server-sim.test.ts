import { expect, it } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import type { SimSend } from '@actorfs/actors/testing';
import { ClientSession } from '../src/client/session.ts';
import type { ClientMsg } from '../src/client/protocol.ts';
import { bytes, dataPathConfig } from './fixtures/data-path-config.ts';
import { simCell } from './fixtures/sim-cell.ts';

const config = dataPathConfig;

it("a chunkserver late to a lease's version raise that dies while the lease runs has the lease revoked: the next lease raises the version again without it, and back, it is never named a replica with its stale bytes", async () => {
  // Every lease the master grants, as sent: the version and the replicas the primary forwards to.
  const leases: Array<{ time: number; version: number; replicas: string[] }> = [];
  const onSend = (s: SimSend): void => {
    const body = s.body as { type?: string; version?: number; replicas?: Array<{ node: string }> };
    if (body.type === 'lease-granted') leases.push({ time: s.time, version: body.version!, replicas: body.replicas!.map((r) => r.node) });
  };
  const cell = simCell(20, config, ['A', 'B', 'C'], {}, onSend);
  let client: ActorRef<ClientMsg> | undefined;
  cell.sim.addNode('c1', { boot: (node) => void (client = node.spawn(ClientSession, { master: cell.master(), config }, { name: 'client' })) });
  await cell.sim.runFor(300);
  await cell.settle(cell.sim.ask(client!, { type: 'create', path: '/f' }, { timeoutMs: 10_000 }));

  // The master's orders reach cs1 only after the grant's timeout: the lease goes out with cs1 late
  // (alive, never answered the raise), and its primary forwards the write to cs1.
  cell.sim.setLink('m', 'cs1', { delayMs: [800, 800] }, true);
  const data = bytes(4096, 5);
  const write = cell.sim.ask(client!, { type: 'write', path: '/f', offset: 0, data }, { timeoutMs: 20_000 });
  await cell.sim.runUntil(() => leases.length > 0, { maxMs: 5_000 });
  const first = leases[0]!;
  expect(first.replicas).toContain('cs1');
  // cs1 dies while that lease runs, before the raise reaches it.
  cell.sim.crash('cs1');
  expect(await cell.settle(write)).toBe(true);
  const { handle, version, replicas } = await cell.sim.call(cell.master(), { type: 'locate', path: '/f', index: 0 });
  // The write went through a lease granted after the revocation, within the first lease's term,
  // and that lease raised the version again among the servers alive.
  const next = leases.find((l) => !l.replicas.includes('cs1'))!;
  expect(next.time).toBeLessThan(first.time + config.leaseMs);
  expect(next.version).toBe(first.version + 1);
  expect([version, [...replicas].sort()]).toEqual([next.version, ['cs2', 'cs3']]);

  // cs1 comes back holding at most the older version: never named a replica of it with stale bytes.
  cell.sim.setLink('m', 'cs1', { delayMs: [1, 1] }, true);
  cell.sim.restart('cs1');
  await cell.sim.runFor(2_000);
  const now = await cell.sim.call(cell.master(), { type: 'locate', path: '/f', index: 0 });
  expect(now.replicas.length).toBeGreaterThanOrEqual(2);
  for (const server of now.replicas) {
    const held = await cell.sim.call(cell.servers.get(server)!, { type: 'read-data', handle, version: now.version, offset: 0, length: data.length });
    expect({ server, same: Buffer.concat(Array.isArray(held) ? held : [held]).equals(Buffer.from(data)) }).toEqual({ server, same: true });
  }
});
