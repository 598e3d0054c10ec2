import { expect, test } from '@jest/globals';
import type { SimCluster } from '@actorfs/actors/testing';
import type { CellPlan } from '../src/index.ts';
import { cellDb, inSimCell, SIM_CELL, simClient } from './cell-harness.ts';

/** The node whose server names itself the master, and the term the database records (driving the simulation). */
async function mastership(sim: SimCluster, plan: CellPlan): Promise<{ node: string | undefined; term: unknown }> {
  let node: string | undefined;
  for (const s of plan.servers) if ((await sim.call(s, { type: 'whoIsMaster' })).master?.node === s.node) node = s.node;
  return { node, term: (await cellDb(sim, plan, 'call')).inspect().masterTerm };
}

const LEASE_MS = 1_000;
/** A Paxos lease long enough that the leader keeps it while its acceptors' answers take 2 s. */
const SLOW_ACK_CELL = { ...SIM_CELL, timing: { ...SIM_CELL.timing, leaseMs: LEASE_MS }, paxos: { ...SIM_CELL.paxos, leaseMs: 5_000 } };
const ACK_DELAY_MS = 2_000;

test("a session whose open the master proposed but never heard answered is expired by that same master", async () => {
  await inSimCell(21, async ({ sim, plan }, a) => {
    await a.open('/ls/test/f', { create: 'ifAbsent' });
    const before = await mastership(sim, plan);
    const master = before.node!;
    const live = (await a.status()).session!;
    // The acceptors' answers to the master take longer than the master's Paxos tries: an open
    // commits after the master has answered UNAVAILABLE, and its id reaches no one.
    const others = plan.config.nodes.filter((n) => n !== master);
    for (const n of others) sim.setLink(n, master, { delayMs: [ACK_DELAY_MS, ACK_DELAY_MS] }, true);
    const z = simClient(sim, plan, 'c9', 'z');
    await sim.runFor(ACK_DELAY_MS + 500);
    const orphans = [...(await cellDb(sim, plan, 'call')).inspect().sessions.keys()].filter((s) => s !== live);
    expect(orphans.length).toBeGreaterThan(0);
    expect((await z.status()).session).toBeNull();
    for (const n of others) sim.setLink(n, master, { delayMs: [1, 1] }, true);
    // z opens a session it knows of (its retry), and the orphans' leases run out.
    await sim.runFor(4 * LEASE_MS);
    const opened = (await z.status()).session!;
    expect(opened).not.toBeNull();
    const sessions = [...(await cellDb(sim, plan, 'call')).inspect().sessions.keys()];
    expect(sessions.sort()).toEqual([live, opened].sort());
    // By the same master, in the same term: no takeover read them.
    expect(await mastership(sim, plan)).toEqual(before);
  }, { cell: SLOW_ACK_CELL, mode: 'drive' });
});
