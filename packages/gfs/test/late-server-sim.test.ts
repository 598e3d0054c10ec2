import { describe, expect, it } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import type { SimSend } from '@actorfs/actors/testing';
import { ClientSession } from '../src/client/session.ts';
import type { ClientMsg } from '../src/client/protocol.ts';
import { bytes, dataPathConfig } from './fixtures/data-path-config.ts';
import { simCell, type SimCell } from './fixtures/sim-cell.ts';

const config = dataPathConfig;

/** A lease as the master sent it: to its primary, at a version, naming the replicas the primary forwards to. */
interface LeaseSent {
  time: number;
  primary: string;
  version: number;
  replicas: string[];
}

/** A cell with /f created, a client that only asks (the test runs the simulation), and every lease the master grants. */
async function leaseCell(): Promise<{ cell: SimCell; write: (data: Uint8Array) => Promise<unknown>; leases: LeaseSent[] }> {
  const leases: LeaseSent[] = [];
  const onSend = (s: SimSend): void => {
    const body = s.body as { type?: string; version?: number; replicas?: Array<{ node: string }> };
    if (body.type === 'lease-granted') leases.push({ time: s.time, primary: s.to.node, version: body.version!, replicas: body.replicas!.map((r) => r.node) });
  };
  const cell = simCell(20, config, ['A', 'B', 'C'], {}, onSend);
  let client: ActorRef<ClientMsg> | undefined;
  cell.sim.addNode('c1', { boot: (node) => void (client = node.spawn(ClientSession, { master: cell.master(), config }, { name: 'client' })) });
  await cell.sim.runFor(300);
  await cell.settle(cell.sim.ask(client!, { type: 'create', path: '/f' }, { timeoutMs: 10_000 }));
  const write = (data: Uint8Array) => cell.sim.ask(client!, { type: 'write', path: '/f', offset: 0, data }, { timeoutMs: 20_000 });
  return { cell, write, leases };
}

/**
 * `write` (under way) goes through a lease granted within `first`'s term, one version up and
 * without `dead`; once `dead` is back, every replica the master names holds `data`.
 */
async function raisedAgainWithout(run: { cell: SimCell; leases: LeaseSent[] }, write: Promise<unknown>, first: LeaseSent, dead: string, data: Uint8Array): Promise<void> {
  const { cell, leases } = run;
  expect(await cell.settle(write)).toBe(true);
  const { handle, version, replicas } = await cell.sim.call(cell.master(), { type: 'locate', path: '/f', index: 0 });
  expect(version).toBe(first.version + 1);
  expect([...replicas].sort()).toEqual(['cs1', 'cs2', 'cs3'].filter((s) => s !== dead));
  const raised = leases.find((l) => l.version === version)!;
  expect(raised.replicas).not.toContain(dead);
  expect(raised.time).toBeLessThan(first.time + config.leaseMs);

  // Back, `dead` holds at most the older version: it is never named a replica with stale bytes.
  cell.sim.setLink('m', dead, { delayMs: [1, 1] }, true);
  cell.sim.restart(dead);
  await cell.sim.runFor(2_000);
  const now = await cell.sim.call(cell.master(), { type: 'locate', path: '/f', index: 0 });
  expect(now.replicas.length).toBeGreaterThanOrEqual(2);
  for (const server of now.replicas) {
    const held = await cell.sim.call(cell.servers.get(server)!, { type: 'read-data', handle, version: now.version, offset: 0, length: data.length });
    expect({ server, same: Buffer.concat(Array.isArray(held) ? held : [held]).equals(Buffer.from(data)) }).toEqual({ server, same: true });
  }
}

describe('a chunkserver that dies while a lease runs has the lease revoked, and the next lease raises the version again without it', () => {
  it('one late to the raise (alive, never answered it), to which the primary forwards', async () => {
    const run = await leaseCell();
    // The master's orders reach cs1 only after the grant's timeout: the lease goes out with cs1 late.
    run.cell.sim.setLink('m', 'cs1', { delayMs: [800, 800] }, true);
    const data = bytes(4096, 5);
    const write = run.write(data);
    await run.cell.sim.runUntil(() => run.leases.length > 0, { maxMs: 5_000 });
    const first = run.leases[0]!;
    expect(first.replicas).toContain('cs1');
    // cs1 dies while that lease runs, before the raise reaches it.
    run.cell.sim.crash('cs1');
    await raisedAgainWithout(run, write, first, 'cs1', data);
  });

  it('a secondary that raised, once the lease has carried a write', async () => {
    const run = await leaseCell();
    expect(await run.cell.settle(run.write(bytes(4096, 1)))).toBe(true);
    const first = run.leases[0]!;
    const secondary = first.replicas.find((r) => r !== first.primary)!;
    run.cell.sim.crash(secondary);
    const data = bytes(4096, 2);
    await raisedAgainWithout(run, run.write(data), first, secondary, data);
  });
});
