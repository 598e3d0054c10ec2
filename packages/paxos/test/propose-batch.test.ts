import { describe, expect, it } from '@jest/globals';
import { ActorRef, defineActor, type ActorContext, type Asks } from '@actorfs/actors';
import { SimCluster } from '@actorfs/actors/testing';
import { PaxosClient, type Asker, type BatchBounds, type Command, type ProposeReply, type ProposerMsg } from '../src/index.ts';
import { ONCE } from './fixtures/once-machine.ts';
import { assertConsistentLogs, learnerViews, leaderOf, openSession, simGroup } from './harness.ts';

// A propose-batch end to end on a simulated group: proposer, acceptors and learners as actors.

const LEASE_MS = 100;
const op = (session: string, seq: number, id: number): Command => ({ type: 'op', session, seq, ack: 0, op: { id } });

/** How often each id was applied, by every learner. */
async function appliedCounts(sim: SimCluster, plan: ReturnType<typeof simGroup>['plan']): Promise<Array<Map<number, number>>> {
  const views = await learnerViews(sim, plan);
  assertConsistentLogs(views);
  return [...views.values()].map((v) => new Map((v.state as Array<Array<[number, number]>>).flat()));
}

type TurnClientMsg = { type: 'run'; proposers: ActorRef<ProposerMsg>[]; batch: Partial<BatchBounds>; first: number; count: number; turns?: number } & Asks<{ results: number[]; sent: number[][] }>;
/**
 * Opens a session with id `first`, then proposes the next count ids in one turn through a batching
 * client, `turns` times (default once), each turn once the one before is answered; answers with the
 * results and the ids each message sent after the open carried.
 */
const TurnClient = defineActor('test.paxos-turn-client', (_props: Record<string, never>, ctx: ActorContext<TurnClientMsg>) => async (msg: TurnClientMsg) => {
  const sent: number[][] = [];
  const idsOf = (cmds: Command[]): number[] => cmds.flatMap((c) => (c.type === 'op' ? [(c.op as { id: number }).id] : []));
  const ask: Asker = (ref, m, timeoutMs) => {
    if (m.type === 'propose-batch' || m.type === 'propose') sent.push(idsOf(m.type === 'propose' ? [m.cmd] : m.cmds));
    return ctx.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
  };
  const client = new PaxosClient({ clientId: 'turn', machine: ONCE, proposers: msg.proposers, ask, sleep: (ms) => ctx.sleep(ms), timeoutMs: 2 * LEASE_MS, batch: msg.batch });
  await client.propose({ id: msg.first });
  sent.length = 0;
  const results: number[] = [];
  for (let turn = 0; turn < (msg.turns ?? 1); turn++) {
    const first = msg.first + 1 + turn * msg.count;
    results.push(...(await Promise.all(Array.from({ length: msg.count }, (_, i) => client.propose({ id: first + i })))));
  }
  ctx.reply({ results, sent });
});

type OrderClientMsg = { type: 'run'; proposers: ActorRef<ProposerMsg>[]; turns: number[][] } & Asks<{ settled: number[] }>;
/**
 * A batching client that proposes each of `turns` in a turn of its own (one id: a plain propose;
 * more: a propose-batch), all at once; answers with the ids in the order their calls settled.
 */
const OrderClient = defineActor('test.paxos-order-client', (_props: Record<string, never>, ctx: ActorContext<OrderClientMsg>) => async (msg: OrderClientMsg) => {
  const ask: Asker = (ref, m, timeoutMs) => ctx.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
  const client = new PaxosClient({ clientId: 'order', machine: ONCE, proposers: msg.proposers, ask, sleep: (ms) => ctx.sleep(ms), timeoutMs: 2 * LEASE_MS, batch: { maxCommands: 8, maxBytes: 1 << 20 } });
  await client.propose({ id: 0 });
  const settled: number[] = [];
  const calls: Array<Promise<unknown>> = [];
  for (const turn of msg.turns) {
    for (const id of turn) calls.push(client.propose({ id }).then(() => settled.push(id)));
    await null; // the turn ends: its proposes leave
  }
  await Promise.all(calls);
  ctx.reply({ settled });
});

type SyncClientMsg =
  | ({ type: 'open'; proposers: ActorRef<ProposerMsg>[]; batch?: Partial<BatchBounds>; batchRetryAfter?: number } & Asks<number>)
  | ({ type: 'turn'; first: number; count: number } & Asks<{ turnAt: number; sentAt: number[]; sent: number[][]; results: number[]; sleeps: number }>);
/**
 * A batching client in an actor whose receive is synchronous (as a service's master is): `turn`
 * proposes count ids in one turn and answers once all are, with when the turn ran and when each
 * message left, and how many sleeps (timers) the client asked for.
 */
const SyncClient = defineActor('test.paxos-sync-client', (_props: Record<string, never>, ctx: ActorContext<SyncClientMsg>) => {
  const sentAt: number[] = [];
  const sent: number[][] = [];
  let sleeps = 0;
  let client: PaxosClient<typeof ONCE> | undefined;
  return (msg: SyncClientMsg) => {
    switch (msg.type) {
      case 'open': {
        const ask: Asker = (ref, m, timeoutMs) => {
          if (m.type === 'propose-batch' || m.type === 'propose') {
            sentAt.push(ctx.now());
            sent.push((m.type === 'propose' ? [m.cmd] : m.cmds).flatMap((c) => (c.type === 'op' ? [(c.op as { id: number }).id] : [])));
          }
          return ctx.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
        };
        const sleep = (ms: number): Promise<void> => {
          sleeps++;
          return ctx.sleep(ms);
        };
        const retry = msg.batchRetryAfter === undefined ? {} : { batchRetryAfter: msg.batchRetryAfter };
        client = new PaxosClient({ clientId: 'sync', machine: ONCE, proposers: msg.proposers, ask, sleep, timeoutMs: 2 * LEASE_MS, batch: msg.batch ?? {}, ...retry });
        return client.propose({ id: 0 }).then((n) => ctx.reply(n));
      }
      case 'turn': {
        const handle = ctx.replyHandle()!;
        const turnAt = ctx.now();
        sentAt.length = sent.length = sleeps = 0;
        const calls = Array.from({ length: msg.count }, (_, i) => client!.propose({ id: msg.first + i }));
        void Promise.all(calls).then((results) => ctx.replyTo(handle, { turnAt, sentAt, sent, results, sleeps }));
        return undefined;
      }
      default:
        return ctx.unhandled(msg satisfies never);
    }
  };
});

describe('propose-batch: a turn of proposes in one message, one reply', () => {
  it('a client refuses batch bounds that could never send a command, with a clear error', () => {
    const options = { clientId: 'bad', proposers: [new ActorRef<ProposerMsg>('n0', 'p')], ask: (() => Promise.reject(new Error('unused'))) as Asker, sleep: () => Promise.resolve() };
    expect(() => new PaxosClient({ ...options, batch: { maxCommands: 0, maxBytes: 1 << 20 } })).toThrow(/batch needs maxCommands >= 1/);
    expect(() => new PaxosClient({ ...options, batch: { maxCommands: 4, maxBytes: 0 } })).toThrow(/maxBytes > 0/);
    expect(() => new PaxosClient({ ...options, batch: {}, batchRetryAfter: 0 })).toThrow(/batchRetryAfter must be a whole number >= 1/);
  });

  it("a batch is answered in one reply, each command's own result in its place; a duplicate of it is applied once and answered alike", async () => {
    const sim = new SimCluster({ seed: 3, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, ONCE);
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const s = await openSession(sim, leader);
    const batch = { type: 'propose-batch' as const, cmds: [op(s, 1, 1), op(s, 2, 2), { type: 'op', session: s, seq: 0 } as Command, op(s, 3, 3)] };
    const first: ProposeReply[] = await sim.call(leader, batch);
    expect(first).toEqual([{ ok: true, result: 1 }, { ok: true, result: 1 }, expect.objectContaining({ ok: false, refused: 'malformed' }), { ok: true, result: 1 }]);
    expect(await sim.call(leader, batch)).toEqual(first); // the same commands again: their first outcomes
    await sim.runFor(2 * LEASE_MS);
    for (const counts of await appliedCounts(sim, plan)) expect([...counts]).toEqual([[1, 1], [2, 1], [3, 1]]);
  });

  it("the client sends a turn's proposes as propose-batches split at its bounds, and each call gets its own result", async () => {
    const sim = new SimCluster({ seed: 4, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, maxBatch: 4 }, ONCE);
    await leaderOf(sim, plan, LEASE_MS);
    sim.addNode('clients');
    // Four commands a batch, and (an op's command being about 110 bytes by approxBytes) three within 350 bytes.
    for (const [first, maxBytes, sizes] of [
      [100, 1 << 20, [4, 4, 2]],
      [200, 350, [3, 3, 3, 1]],
    ] as const) {
      const client = sim.spawn('clients', TurnClient, {});
      const out = await sim.call(client, { type: 'run', proposers: plan.proposers, batch: { maxCommands: 4, maxBytes }, first, count: 10 }, { timeoutMs: 20 * LEASE_MS });
      expect(out.results).toEqual(Array.from({ length: 10 }, () => 1));
      expect(out.sent.map((ids) => ids.length)).toEqual(sizes);
      expect(out.sent.flat()).toEqual(Array.from({ length: 10 }, (_, i) => first + 1 + i));
    }
  });

  it("a slot's plain and batched commands from one client are answered, and settle, in the log's order", async () => {
    // One network delay for all, so the client's messages reach the leader together; with one slot in
    // flight (the first turn's), the others wait for it and share the next.
    const sim = new SimCluster({ seed: 5, network: { delayMs: [1, 1] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, maxInflightSlots: 1 }, ONCE);
    await leaderOf(sim, plan, LEASE_MS);
    sim.addNode('clients');
    const client = sim.spawn('clients', OrderClient, {});
    const { settled } = await sim.call(client, { type: 'run', proposers: plan.proposers, turns: [[7], [1], [2, 3], [4], [5, 6]] }, { timeoutMs: 20 * LEASE_MS });
    const view = (await learnerViews(sim, plan)).values().next().value!;
    const slotsOf = (ids: number[]): number[] => ids.map((id) => view.log.findIndex(([, v]) => v.cmds.some((c) => c.type === 'op' && (c.op as { id: number }).id === id)));
    expect(new Set(slotsOf([1, 2, 3, 4, 5, 6])).size).toBe(1); // the case in question: one slot holds them all
    const inLog = view.log.flatMap(([, v]) => v.cmds.flatMap((c) => (c.type === 'op' ? [(c.op as { id: number }).id] : []))).filter((id) => id > 0);
    expect(settled).toEqual(inLog);
  });

  it("a client given bounds over the group's learns the group's from the refusal, sends the refused commands again within them, and keeps them", async () => {
    const sim = new SimCluster({ seed: 6, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, maxBatch: 4, maxBatchBytes: 350 }, ONCE);
    await leaderOf(sim, plan, LEASE_MS);
    sim.addNode('clients');
    // The group takes four commands and 350 bytes a batch (three commands of about 110 bytes).
    for (const [first, batch, sizes] of [
      [100, {}, [10, 3, 3, 3, 1, 3, 3, 3, 1]], // PaxosTiming's default bounds: refused once, then within the group's
      [200, { maxCommands: 64, maxBytes: 1 << 20 }, [10, 3, 3, 3, 1, 3, 3, 3, 1]],
      [300, { maxCommands: 3, maxBytes: 1 << 20 }, [3, 3, 3, 1, 3, 3, 3, 1]], // within the group's bounds: never refused
    ] as const) {
      const client = sim.spawn('clients', TurnClient, {});
      const out = await sim.call(client, { type: 'run', proposers: plan.proposers, batch, first, count: 10, turns: 2 }, { timeoutMs: 20 * LEASE_MS });
      expect(out.results).toEqual(Array.from({ length: 20 }, () => 1)); // each applied once, none lost
      expect(out.sent.map((ids) => ids.length)).toEqual(sizes);
    }
    await sim.runFor(2 * LEASE_MS);
    const ids = Array.from({ length: 3 }, (_, k) => Array.from({ length: 21 }, (__, i) => 100 * (k + 1) + i)).flat();
    for (const counts of await appliedCounts(sim, plan)) expect([...counts].sort((a, b) => a[0] - b[0])).toEqual(ids.map((id) => [id, 1]));
  });

  it("a client tries its own bounds again after batchRetryAfter batches within the learned ones, and uses them once the group's are raised; nothing applied twice", async () => {
    const sim = new SimCluster({ seed: 9, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, maxBatch: 4, maxBatchBytes: 350 }, ONCE);
    await leaderOf(sim, plan, LEASE_MS);
    sim.addNode('clients');
    const client = sim.spawn('clients', SyncClient, {});
    const batch = { maxCommands: 64, maxBytes: 1 << 20 };
    expect(await sim.call(client, { type: 'open', proposers: plan.proposers, batch, batchRetryAfter: 6 }, { timeoutMs: 20 * LEASE_MS })).toBe(1);
    const turn = async (first: number): Promise<number[]> => {
      const out = await sim.call(client, { type: 'turn', first, count: 10 }, { timeoutMs: 40 * LEASE_MS });
      expect(out.results).toEqual(Array.from({ length: 10 }, () => 1)); // each applied once
      return out.sent.map((ids) => ids.length);
    };
    // The group takes 4 commands and 350 bytes (three commands) a batch: refused, then 6 batches
    // within its bounds (4 this turn, 2 the next), then the client's own bounds again.
    expect(await turn(10)).toEqual([10, 3, 3, 3, 1]);
    expect(await turn(20)).toEqual([3, 3, 3, 1]);
    expect(await turn(30)).toEqual([10, 3, 3, 3, 1]);
    // The group's bounds are raised (its proposers restarted with the new settings, one at a time).
    for (const s of plan.specs) if (plan.proposers.some((p) => p.id === s.name)) Object.assign(s.props as object, { timing: { leaseMs: LEASE_MS, maxBatch: 64, maxBatchBytes: 1 << 20 } });
    for (const p of plan.proposers) {
      sim.crash(p.node);
      sim.restart(p.node);
      await leaderOf(sim, plan, LEASE_MS);
    }
    // The rest of the 6 batches within the learned bounds, then one batch of 10, taken.
    expect(await turn(40)).toEqual([3, 3, 3, 1]);
    expect(await turn(50)).toEqual([10]);
    await sim.runFor(2 * LEASE_MS);
    const ids = [0, ...Array.from({ length: 50 }, (_, i) => 10 + i)];
    for (const counts of await appliedCounts(sim, plan)) expect([...counts].sort((a, b) => a[0] - b[0])).toEqual(ids.map((id) => [id, 1]));
  });

  it("a turn's batch leaves at the end of the turn, in a synchronous receive too, with no timer", async () => {
    const sim = new SimCluster({ seed: 8, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, ONCE);
    await leaderOf(sim, plan, LEASE_MS);
    sim.addNode('clients');
    const client = sim.spawn('clients', SyncClient, {});
    expect(await sim.call(client, { type: 'open', proposers: plan.proposers }, { timeoutMs: 20 * LEASE_MS })).toBe(1);
    for (const first of [10, 20, 30]) {
      const out = await sim.call(client, { type: 'turn', first, count: 5 }, { timeoutMs: 20 * LEASE_MS });
      expect(out.results).toEqual([1, 1, 1, 1, 1]);
      expect(out.sent).toEqual([[first, first + 1, first + 2, first + 3, first + 4]]);
      expect(out.sentAt).toEqual([out.turnAt]); // in the turn's virtual instant, not after a later event
      expect(out.sleeps).toBe(0); // no timer to end a turn
    }
  });
});
