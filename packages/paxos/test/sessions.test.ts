import { describe, expect, it } from '@jest/globals';
import { defineActor, seededRandom, type ActorContext, type ActorRef, type Asks } from '@actorfs/actors';
import { checkOperations, forEachSeed, SimCluster } from '@actorfs/actors/testing';
import { PaxosClient, PaxosRefusedError, type Asker, type BatchBounds, type OpCommand, type ProposeReply, type ProposerMsg, type ProposerStatus } from '../src/index.ts';
import { SessionTable } from '../src/sessions.ts';
import { PipelinedKvClient, type HistoryEntry } from './fixtures/kv-client.ts';
import { ONCE } from './fixtures/once-machine.ts';
import { assertConsistentLogs, command, kv, learnerViews, openSession, simGroup, toOperations } from './harness.ts';

const LEASE_MS = 100;
const op = (session: string, seq: number, ack: number): OpCommand => ({ type: 'op', session, seq, ack, op: seq });

describe('client sessions, the replicated records (SessionTable)', () => {
  const limits = { idleMs: 1_000, window: 64, maxSessions: 3 };

  it('applies every seq of the window exactly once, whatever the order and however many copies arrive', () => {
    const rnd = seededRandom(1);
    const table = new SessionTable(limits);
    table.open('s', 0);
    const copies = Array.from({ length: 64 * 3 }, (_, i) => (i % 64) + 1).sort(() => rnd() - 0.5);
    const applied: number[] = [];
    for (const seq of copies) {
      const cmd = op('s', seq, 0);
      const early = table.admit(cmd, 1);
      if (early) {
        expect(early).toEqual({ ok: true, result: seq * 10 }); // a later copy gets the first outcome
        continue;
      }
      applied.push(seq);
      table.record(cmd, { ok: true, result: seq * 10 });
    }
    expect(applied.sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  });

  it('forgets outcomes the client acknowledged, and refuses a late copy of one as stale', () => {
    const table = new SessionTable(limits);
    table.open('s', 0);
    for (let seq = 1; seq <= 3; seq++) {
      expect(table.admit(op('s', seq, 0), 0)).toBeUndefined();
      table.record(op('s', seq, 0), { ok: true, result: seq });
    }
    expect(table.admit(op('s', 4, 2), 0)).toBeUndefined(); // carries ack 2
    expect(table.answerFor(op('s', 2, 0))).toMatchObject({ ok: false, refused: 'stale' });
    expect(table.admit(op('s', 3, 0), 0)).toEqual({ ok: true, result: 3 }); // not acknowledged yet
  });

  it('keeps at most two windows of outcomes, whatever order they were recorded in, and none once all are acknowledged', () => {
    const rnd = seededRandom(3);
    const table = new SessionTable(limits);
    table.open('s', 0);
    const kept = (): number => [...table.pieces()].flat().reduce((n, row) => n + row[3].length, 0);
    let acked = 0;
    for (let next = 1; next <= 2_000; ) {
      // A window's worth of seqs above the acknowledged mark, applied in a random order.
      const seqs = Array.from({ length: limits.window }, (_, i) => next + i).filter((q) => q <= acked + limits.window);
      for (const seq of seqs.sort(() => rnd() - 0.5)) {
        const cmd = op('s', seq, acked);
        if (table.admit(cmd, 0) === undefined) table.record(cmd, { ok: true, result: seq });
        expect(kept()).toBeLessThanOrEqual(2 * limits.window);
      }
      next += seqs.length;
      acked = next - 1 - Math.floor(rnd() * 8); // the client acknowledges all but a few
    }
    table.admit(op('s', 3_000, 2_999), 0);
    expect(kept()).toBe(0);
  });

  it('refuses a seq beyond the window above its own ack, every copy, even after the window moves on', () => {
    const table = new SessionTable(limits);
    table.open('s', 0);
    expect(table.admit(op('s', 65, 0), 0)).toMatchObject({ ok: false, refused: 'window' });
    expect(table.admit(op('s', 64, 10), 0)).toBeUndefined(); // moves the acknowledged mark to 10
    expect(table.admit(op('s', 65, 0), 0)).toMatchObject({ ok: false, refused: 'window' });
  });

  it('expires a session idle for longer than idleMs by the slots\' time, and never evicts one by count', () => {
    const table = new SessionTable(limits);
    for (const id of ['a', 'b', 'c']) table.open(id, 0);
    expect(table.open('d', 0)).toMatchObject({ ok: false, error: { code: 'too-many-sessions' } });
    expect(table.has('a')).toBe(true);
    table.admit(op('b', 1, 0), 900);
    table.expire(1_500);
    expect([table.has('a'), table.has('b'), table.has('c')]).toEqual([false, true, false]);
    expect(table.admit(op('a', 1, 0), 1_500)).toMatchObject({ ok: false, refused: 'session' });
    table.expire(1_901);
    expect(table.has('b')).toBe(false);
  });

  it('keeps outcomes and marks across a snapshot and restore', () => {
    const table = new SessionTable(limits);
    table.open('s', 0);
    table.admit(op('s', 1, 0), 5);
    table.record(op('s', 1, 0), { ok: true, result: 'first' });
    table.admit(op('s', 3, 1), 5);
    const copy = new SessionTable(limits);
    copy.restore(table.pieces());
    expect(copy.admit(op('s', 3, 1), 6)).toBeUndefined();
    expect(copy.answerFor(op('s', 1, 0))).toMatchObject({ refused: 'stale' });
    copy.expire(1_007);
    expect(copy.has('s')).toBe(false);
  });
});

function onceClient(id: string, proposers: ActorRef<ProposerMsg>[], ask: Asker, sleep: (ms: number) => Promise<void>, batch?: BatchBounds): PaxosClient<typeof ONCE> {
  return new PaxosClient({ clientId: id, machine: ONCE, proposers, ask, sleep, timeoutMs: 2 * LEASE_MS, maxAttempts: 1_000, maxBackoffMs: LEASE_MS, ...(batch ? { batch } : {}) });
}

type OnceClientMsg = { type: 'run'; proposers: ActorRef<ProposerMsg>[]; count: number; batch?: BatchBounds } & Asks<Array<number | string>>;
/** Proposes ids 0..count-1 all at once through one pipelined client; answers with each result (or error). */
const OnceClient = defineActor('test.sessions-once-client', (_props: Record<string, never>, ctx: ActorContext<OnceClientMsg>) => async (msg: OnceClientMsg) => {
  const ask: Asker = (ref, m, timeoutMs) => ctx.ask(ref, m, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>;
  const client = onceClient('p', msg.proposers, ask, (ms) => ctx.sleep(ms), msg.batch);
  const all = Array.from({ length: msg.count }, (_, id) => client.propose({ id }).catch((e: unknown) => String(e)));
  ctx.reply(await Promise.all(all));
});

describe('pipelined exactly-once sessions (simulator)', () => {
  it.each([
    ['one ask each', undefined],
    ['a turn\'s proposes in propose-batches', { maxCommands: 8, maxBytes: 1 << 20 }],
  ] as const)('one client with 64 commands in flight under drops, duplicates, reordering and a leader change applies each exactly once (%s)', async (_, batch) => {
    await forEachSeed(10, async (seed) => {
      const sim = new SimCluster({ seed, network: { delayMs: [1, 8], drop: 0.05, duplicate: 0.05, reorder: true } });
      const { plan } = simGroup(sim, { acceptors: 3, proposers: 3, learners: 3 }, { leaseMs: LEASE_MS, maxBatch: 8 }, ONCE);
      sim.addNode('clients');
      const results: Array<number | string> = [];
      const c = sim.spawn('clients', OnceClient, {});
      let done = false;
      void sim.ask(c, { type: 'run', proposers: plan.proposers, count: 200, ...(batch ? { batch } : {}) }, { timeoutMs: 1e9 }).then((r) => {
        results.push(...r);
        done = true;
      });
      await sim.runFor(300);
      const statuses: ProposerStatus[] = await Promise.all(plan.proposers.map((p) => sim.call(p, { type: 'status' })));
      const leader = statuses.find((s) => s.role === 'leader');
      if (leader) sim.isolate(plan.proposers[leader.id]!.node);
      await sim.runFor(5 * LEASE_MS);
      sim.heal();
      expect(await sim.runUntil(() => done, { maxMs: 200 * LEASE_MS })).toBe(true);
      expect(results).toEqual(Array.from({ length: 200 }, () => 1)); // every one answered: applied once
      await sim.runFor(5 * LEASE_MS);
      const views = await learnerViews(sim, plan);
      assertConsistentLogs(views);
      for (const v of views.values()) {
        const counts = new Map((v.state as Array<Array<[number, number]>>).flat());
        expect(counts.size).toBe(200);
        expect([...counts.values()].every((n) => n === 1)).toBe(true);
      }
    });
  }, 120_000);

  it.each([
    ['one ask each', undefined],
    ['a turn\'s proposes in propose-batches', { maxCommands: 4, maxBytes: 1 << 20 }],
  ] as const)('pipelined clients under drops, duplicates and reordering give a linearizable history (%s)', async (_, batch) => {
    await forEachSeed(10, async (seed) => {
      const sim = new SimCluster({ seed, network: { delayMs: [1, 10], drop: 0.03, duplicate: 0.03, reorder: true } });
      const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, maxBatch: 4 });
      sim.addNode('clients');
      const histories: HistoryEntry[][] = [];
      for (let i = 0; i < 2; i++) {
        const c = sim.spawn('clients', PipelinedKvClient, { id: `p${i}` });
        void sim.ask(c, { type: 'run', proposers: plan.proposers, ops: 24, keys: ['a', 'b', 'c', 'd', 'e', 'f'], timeoutMs: 2 * LEASE_MS, maxAttempts: 500, maxBackoffMs: LEASE_MS, ...(batch ? { batch } : {}) }, { timeoutMs: 1e9 }).then((h) => histories.push(h));
      }
      expect(await sim.runUntil(() => histories.length === 2, { maxMs: 300 * LEASE_MS })).toBe(true);
      expect(histories.flat().filter((e) => e.ok).length).toBeGreaterThan(30);
      const result = checkOperations(kv, toOperations(histories), { maxSteps: 20_000_000 });
      expect(result.ok).toBe(true);
    });
  }, 120_000);

  it('a command from an expired session is refused with a clear error and never applied, its applied retry never applied twice', async () => {
    const sim = new SimCluster({ seed: 41, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS, sessionIdleMs: 10 * LEASE_MS }, ONCE);
    let leader = plan.proposers[0]!;
    for (let i = 0; i < 100; i++) {
      const s: ProposerStatus[] = await Promise.all(plan.proposers.map((p) => sim.call(p, { type: 'status' })));
      const l = s.find((x) => x.role === 'leader' && x.leaseValid);
      if (l) {
        leader = plan.proposers[l.id]!;
        break;
      }
      await sim.runFor(LEASE_MS / 10);
    }
    const idle = await openSession(sim, leader, 'idle');
    const busy = await openSession(sim, leader, 'busy');
    expect(await sim.call(leader, command(idle, 1, { id: 1 }))).toEqual({ ok: true, result: 1 });
    // Time passes only in slots: the busy session's commands carry it past the idle one's expiry.
    for (let seq = 1; seq <= 12; seq++) {
      await sim.runFor(LEASE_MS);
      expect(await sim.call(leader, command(busy, seq, { id: 100 + seq }))).toMatchObject({ ok: true });
    }
    expect(await sim.call(leader, command(idle, 1, { id: 1 }))).toMatchObject({ ok: false, refused: 'session', reason: expect.stringContaining('expired') });
    expect(await sim.call(leader, command(idle, 2, { id: 2 }))).toMatchObject({ ok: false, refused: 'session' });
    await sim.runFor(2 * LEASE_MS);
    for (const v of (await learnerViews(sim, plan)).values()) {
      const counts = new Map((v.state as Array<Array<[number, number]>>).flat());
      expect(counts.get(1)).toBe(1);
      expect(counts.has(2)).toBe(false);
    }
    // The client sees its own kind of error, and opens a new session for the next command.
    const client = onceClient('late', plan.proposers, (ref, m, timeoutMs) => sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>, (ms) => sim.runFor(ms));
    let first: unknown;
    void client.propose({ id: 3 }).then((r) => (first = r));
    await sim.runUntil(() => first !== undefined, { maxMs: 10 * LEASE_MS });
    expect(first).toBe(1);
    for (let seq = 13; seq <= 25; seq++) {
      await sim.runFor(LEASE_MS);
      await sim.call(leader, command(busy, seq, { id: 100 + seq }));
    }
    let expired: unknown;
    void client.propose({ id: 4 }).catch((e: unknown) => (expired = e));
    await sim.runUntil(() => expired !== undefined, { maxMs: 10 * LEASE_MS });
    expect(expired).toBeInstanceOf(PaxosRefusedError);
    expect(expired).toMatchObject({ code: 'session' });
    let again: unknown;
    void client.propose({ id: 5 }).then((r) => (again = r));
    await sim.runUntil(() => again !== undefined, { maxMs: 10 * LEASE_MS });
    expect(again).toBe(1);
  });
});
