import { describe, expect, it } from '@jest/globals';
import { defineActor, type ActorContext } from '@actorfs/actors';
import { SimCluster } from '@actorfs/actors/testing';
import {
  defineStateMachine,
  PaxosClient,
  PaxosDomainError,
  PaxosRefusedError,
  type AppliedEvents,
  type ApplyMeta,
  type GroupPlan,
  type LeadershipEvent,
  type ProposeReply,
  type ProposerStatus,
} from '../src/index.ts';
import { leaderOf, learnerViews, simGroup } from './harness.ts';

// The contract a replicated service builds on: what apply is told, what it may answer, and what
// local subscribers hear. One claim per test, in the simulator.

const LEASE_MS = 100;

type LedgerOp = { add: number } | { withdraw: number };
type LedgerEvent = { kind: 'added' | 'withdrew'; amount: number };

/** A balance that cannot go negative; every applied op reports what apply was told. */
const LEDGER = defineStateMachine<LedgerOp, { balance: number; meta: ApplyMeta }, 'balance', number, LedgerEvent>('test.ledger', () => {
  let balance = 0;
  return {
    validate: (op) => (typeof op === 'object' && op !== null && ('add' in op || 'withdraw' in op) ? undefined : 'a ledger op is { add } or { withdraw }'),
    apply: (op, meta) => {
      if ('add' in op) {
        balance += op.add;
        return { ok: true, result: { balance, meta }, events: [{ kind: 'added', amount: op.add }] };
      }
      if (op.withdraw > balance) return { ok: false, error: { code: 'insufficient-funds', message: `balance ${balance} is below ${op.withdraw}` } };
      balance -= op.withdraw;
      return { ok: true, result: { balance, meta }, events: [{ kind: 'withdrew', amount: op.withdraw }] };
    },
    query: () => balance,
    snapshot: () => [balance],
    restore: (pieces) => {
      balance = ([...pieces][0] as number | undefined) ?? 0;
    },
  };
});

/** Records what it is told, per actor name. */
const heard = new Map<string, unknown[]>();
const Listener = defineActor('test.contract-listener', (_props: Record<string, never>, ctx: ActorContext<AppliedEvents | LeadershipEvent>) => (msg: AppliedEvents | LeadershipEvent) => {
  heard.set(ctx.self.id, [...(heard.get(ctx.self.id) ?? []), msg]);
});


function client(sim: SimCluster, plan: GroupPlan, id: string): PaxosClient<typeof LEDGER> {
  return new PaxosClient({
    clientId: id,
    machine: LEDGER,
    proposers: plan.proposers,
    ask: (ref, m, timeoutMs) => sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => sim.runFor(ms),
    timeoutMs: 2 * LEASE_MS,
  });
}

/** Runs the simulation until `p` settles, and returns it (or throws its error). */
async function settle<T>(sim: SimCluster, p: Promise<T>): Promise<T> {
  let done = false;
  const watched = p.finally(() => (done = true));
  void watched.catch(() => undefined);
  if (!(await sim.runUntil(() => done, { maxMs: 100 * LEASE_MS }))) throw new Error(`not settled in ${100 * LEASE_MS} ms (seed ${sim.seed})`);
  return watched;
}

describe('the state-machine contract (simulator)', () => {
  it('registering a machine name twice is an error', () => {
    expect(() => defineStateMachine('test.ledger', () => ({ apply: () => ({ ok: true, result: 0 }), query: () => 0, snapshot: () => [], restore: () => undefined }))).toThrow(
      /test.ledger is already defined/,
    );
  });

  it('apply is told the slot, the position in the slot and the leader timestamp of the slot, the same on every replica', async () => {
    const sim = new SimCluster({ seed: 31, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, LEDGER);
    await leaderOf(sim, plan, LEASE_MS);
    const c = client(sim, plan, 'meta');
    const before = sim.now();
    // Typed from the machine: the result is { balance, meta } without a cast.
    const results = await settle(sim, Promise.all([c.propose({ add: 1 }), c.propose({ add: 2 }), c.propose({ add: 3 })]));
    const after = sim.now();
    for (const r of results) {
      expect(r.meta.time).toBeGreaterThanOrEqual(before);
      expect(r.meta.time).toBeLessThanOrEqual(after);
      expect(r.meta.slot).toBeGreaterThan(0);
    }
    // Commands batched into one slot are told apart by their index.
    const positions = results.map((r) => `${r.meta.slot}.${r.meta.index}`);
    expect(new Set(positions).size).toBe(3);
    expect(results.at(-1)!.balance).toBe(6);
    await sim.runFor(2 * LEASE_MS);
    for (const v of (await learnerViews(sim, plan)).values()) expect(v.state).toEqual([6]);
  });

  it('a domain error reaches the client as a PaxosDomainError with its code, and the machine is unchanged', async () => {
    const sim = new SimCluster({ seed: 32, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, LEDGER);
    await leaderOf(sim, plan, LEASE_MS);
    const c = client(sim, plan, 'd');
    await settle(sim, c.propose({ add: 5 }));
    const failed = await settle(sim, c.propose({ withdraw: 9 })).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PaxosDomainError);
    expect(failed).toMatchObject({ code: 'insufficient-funds', message: 'balance 5 is below 9' });
    expect((await settle(sim, c.propose({ withdraw: 2 }))).balance).toBe(3);
    expect(await settle(sim, c.read('balance'))).toBe(3);
  });

  it('an op the machine finds invalid is refused before it takes a log slot', async () => {
    const sim = new SimCluster({ seed: 35, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, LEDGER);
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const c = client(sim, plan, 'v');
    await settle(sim, c.propose({ add: 1 }));
    const before: ProposerStatus = await sim.call(leader, { type: 'status' });
    const refused = await settle(sim, c.propose({ deposit: 5 } as unknown as LedgerOp)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PaxosRefusedError);
    expect(refused).toMatchObject({ code: 'invalid', message: 'invalid op: a ledger op is { add } or { withdraw }' });
    expect((await sim.call(leader, { type: 'status' })).nextSlot).toBe(before.nextSlot);
  });

  it('a local subscriber gets each applied slot\'s events in slot order', async () => {
    heard.clear();
    const sim = new SimCluster({ seed: 33, network: { delayMs: [1, 3], drop: 0.02, duplicate: 0.02, reorder: true } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, LEDGER);
    const learner = plan.learners[1]!;
    const listener = sim.spawn(learner.node, Listener, {}, { name: 'events' });
    sim.tell(learner, { type: 'subscribe', subscriber: listener });
    const far = sim.spawn('n0', Listener, {}, { name: 'far' });
    sim.tell(plan.learners[2]!, { type: 'subscribe', subscriber: far }); // another node: refused
    await leaderOf(sim, plan, LEASE_MS);
    const c = client(sim, plan, 'e');
    for (let i = 1; i <= 20; i++) await settle(sim, c.propose(i % 5 === 0 ? { withdraw: 1 } : { add: i }));
    await sim.runFor(3 * LEASE_MS);
    const got = (heard.get('events') ?? []) as AppliedEvents[];
    const slots = got.map((e) => e.slot);
    expect(slots).toEqual([...slots].sort((a, b) => a - b));
    expect(new Set(slots).size).toBe(slots.length);
    const amounts = got.flatMap((e) => e.events.map(([, ev]) => ev as LedgerEvent));
    expect(amounts).toEqual(Array.from({ length: 20 }, (_, k) => (((k + 1) % 5 === 0) ? { kind: 'withdrew', amount: 1 } : { kind: 'added', amount: k + 1 })));
    expect(heard.get('far')).toBeUndefined();
  });

  it('a subscriber on the proposer\'s node is told when it starts leading, with the lease deadline, and when it stops', async () => {
    heard.clear();
    const sim = new SimCluster({ seed: 34, network: { delayMs: [1, 3] } });
    const { plan } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, LEDGER);
    const listeners = plan.proposers.map((p, i) => {
      const l = sim.spawn(p.node, Listener, {}, { name: `lead-${i}` });
      sim.tell(p, { type: 'subscribe', subscriber: l });
      return l;
    });
    const leader = await leaderOf(sim, plan, LEASE_MS);
    const i = plan.proposers.findIndex((p) => p.equals(leader));
    const events = (): LeadershipEvent[] => (heard.get(listeners[i]!.id) ?? []) as LeadershipEvent[];
    const leading = events().filter((e) => e.type === 'leading');
    expect(leading.length).toBeGreaterThan(0);
    expect(leading[0]!.type === 'leading' && leading[0]!.leaseUntil).toBeGreaterThan(sim.now() - LEASE_MS);
    // Renewals move the deadline on.
    await sim.runFor(LEASE_MS);
    const deadlines = events().flatMap((e) => (e.type === 'leading' ? [e.leaseUntil] : []));
    expect(deadlines.at(-1)!).toBeGreaterThan(deadlines[0]!);
    expect(heard.get(listeners[1 - i]!.id)).toBeUndefined();

    sim.isolate(leader.node);
    await sim.runFor(5 * LEASE_MS);
    expect(events().at(-1)).toMatchObject({ type: 'not-leading' });
    // Never told it leads after its lease could have run out.
    const stopped = events().findIndex((e) => e.type === 'not-leading');
    expect(events().slice(stopped).every((e) => e.type === 'not-leading')).toBe(true);
  });
});
