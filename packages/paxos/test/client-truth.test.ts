import { describe, expect, it } from '@jest/globals';
import { defineActor, type ActorContext, type ActorRef, type Asks } from '@actorfs/actors';
import { forEachSeed, SimCluster } from '@actorfs/actors/testing';
import {
  PaxosClient,
  PaxosNoEffectError,
  PaxosOutcomeUnknownError,
  type ClientPosition,
  type LeaderInfo,
  type ProposeReply,
  type ProposerMsg,
  type ProposerStatus,
  type RetryHandle,
} from '../src/index.ts';
import { ONCE } from './fixtures/once-machine.ts';
import { learnerViews, simGroup } from './harness.ts';

// A client that tells the truth (issue 14.12): a failed command says whether it certainly had no
// effect or its outcome is unknown; an unknown one can be retried by its (session, seq) until its
// outcome is learned, applied once; a restarted client carries on from its position; and a call
// says who leads.

const LEASE_MS = 100;
const CLIENTS = 'clients';

type Answer =
  | { kind: 'ok'; result: number }
  | { kind: 'no-effect'; name: string; message: string }
  | { kind: 'unknown'; name: string; message: string; retry: RetryHandle | null };

/** Proposes ids in turn; an unknown outcome is retried by its handle until answered. */
interface RunReport {
  results: Array<number | 'no-effect' | 'lost'>;
  unknowns: number;
}

type TruthMsg =
  | ({ type: 'propose'; id: number } & Asks<Answer>)
  | ({ type: 'retry'; handle: RetryHandle } & Asks<Answer>)
  | ({ type: 'run'; count: number } & Asks<RunReport>)
  | ({ type: 'position' } & Asks<ClientPosition | null>)
  | ({ type: 'leader' } & Asks<LeaderInfo | null>);

interface TruthProps {
  proposers: ActorRef<ProposerMsg>[];
  maxAttempts: number;
  /** Per attempt; default two lease terms. */
  timeoutMs?: number;
  resume?: ClientPosition;
}

function answerOf(err: unknown): Answer {
  if (err instanceof PaxosOutcomeUnknownError) return { kind: 'unknown', name: err.name, message: err.message, retry: err.retry ?? null };
  if (err instanceof PaxosNoEffectError) return { kind: 'no-effect', name: err.name, message: err.message };
  throw err;
}

const TruthClient = defineActor('test.truth-client', (props: TruthProps, ctx: ActorContext<TruthMsg>) => {
  const client = new PaxosClient({
    clientId: 'truth',
    machine: ONCE,
    proposers: props.proposers,
    ask: (ref, m, timeoutMs) => ctx.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
    sleep: (ms) => ctx.sleep(ms),
    timeoutMs: props.timeoutMs ?? 2 * LEASE_MS,
    maxAttempts: props.maxAttempts,
    maxBackoffMs: LEASE_MS,
    ...(props.resume ? { resume: props.resume } : {}),
  });
  const settle = (p: Promise<number>): Promise<Answer> => p.then((result): Answer => ({ kind: 'ok', result }), answerOf);
  return async (msg: TruthMsg) => {
    switch (msg.type) {
      case 'propose':
        return ctx.reply(await settle(client.propose({ id: msg.id })));
      case 'retry':
        return ctx.reply(await settle(client.retry(msg.handle as RetryHandle<{ id: number }>)));
      case 'run': {
        const report: RunReport = { results: [], unknowns: 0 };
        for (let id = 0; id < msg.count; id++) {
          let answer = await settle(client.propose({ id }));
          while (answer.kind === 'unknown' && answer.retry) {
            report.unknowns++;
            answer = await settle(client.retry(answer.retry as RetryHandle<{ id: number }>));
          }
          report.results.push(answer.kind === 'ok' ? answer.result : answer.kind === 'no-effect' ? 'no-effect' : 'lost');
        }
        return ctx.reply(report);
      }
      case 'position':
        return ctx.reply(client.position ?? null);
      case 'leader':
        return ctx.reply((await client.leader()) ?? null);
      default:
        throw new Error(`unknown message ${JSON.stringify(msg satisfies never)}`);
    }
  };
});

/** How often each id was applied, per live learner. */
async function appliedCounts(sim: SimCluster, plan: ReturnType<typeof simGroup>['plan']): Promise<Array<Map<number, number>>> {
  return [...(await learnerViews(sim, plan)).values()].map((v) => new Map((v.state as Array<Array<[number, number]>>).flat()));
}

async function leaderStatus(sim: SimCluster, proposers: ActorRef<ProposerMsg>[]): Promise<ProposerStatus> {
  for (let i = 0; i < 200; i++) {
    const statuses: ProposerStatus[] = await Promise.all(proposers.map((p) => sim.call(p, { type: 'status' })));
    const l = statuses.find((s) => s.role === 'leader' && s.leaseValid);
    if (l) return l;
    await sim.runFor(LEASE_MS / 10);
  }
  throw new Error('no leader');
}

/** A group of three nodes, a client node, and the group's leader elected. */
async function setUp(seed: number, network: ConstructorParameters<typeof SimCluster>[0]['network'] = { delayMs: [1, 3] }) {
  const sim = new SimCluster({ seed, network });
  const { plan, nodes } = simGroup(sim, { acceptors: 3, proposers: 2, learners: 3 }, { leaseMs: LEASE_MS }, ONCE);
  sim.addNode(CLIENTS);
  const leader = await leaderStatus(sim, plan.proposers);
  const call = <T>(ref: ActorRef<TruthMsg>, msg: TruthMsg): Promise<T> => sim.call(ref, msg as never, { timeoutMs: 1e9 }) as Promise<T>;
  return { sim, plan, nodes, leader, call };
}

describe('a Paxos client that tells the truth (simulator)', () => {
  it('a command whose replies are lost fails as outcome unknown; retrying its handle answers the result it had, applied once', async () => {
    const { sim, plan, nodes, call } = await setUp(7);
    const c = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 3 });
    expect(await call<Answer>(c, { type: 'propose', id: 1 })).toEqual({ kind: 'ok', result: 1 });
    // The group hears the client; the client hears nothing back.
    sim.partition(nodes, [CLIENTS], { oneWay: true });
    const lost = await call<Answer>(c, { type: 'propose', id: 2 });
    expect(lost).toMatchObject({ kind: 'unknown', name: 'PaxosUnavailableError', retry: { seq: 2, op: { id: 2 } } });
    for (const counts of await appliedCounts(sim, plan)) expect(counts.get(2)).toBe(1); // it was applied after all
    sim.heal();
    const handle = (lost as { retry: RetryHandle }).retry;
    expect(await call<Answer>(c, { type: 'retry', handle })).toEqual({ kind: 'ok', result: 1 }); // its first result, not a second apply
    expect(await call<Answer>(c, { type: 'propose', id: 3 })).toEqual({ kind: 'ok', result: 1 });
    // A handle answered once is not open any more: retrying it again is refused, not re-sent.
    expect(await call<Answer>(c, { type: 'retry', handle })).toMatchObject({ kind: 'unknown', retry: null, message: expect.stringContaining('not open') });
    await sim.runFor(2 * LEASE_MS);
    for (const counts of await appliedCounts(sim, plan)) expect([...counts]).toEqual([[1, 1], [2, 1], [3, 1]]);
  });

  it('a leader cut off from the other acceptors with the command in an accept answers "not leader": the outcome is unknown, and a retry applies it once', async () => {
    const { sim, plan, leader, call } = await setUp(5);
    const leaderNode = plan.proposers[leader.id]!.node;
    // One attempt, waiting long enough for the leader to give up its lease and answer.
    const c = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 1, timeoutMs: 20 * LEASE_MS });
    expect(await call<Answer>(c, { type: 'propose', id: 1 })).toEqual({ kind: 'ok', result: 1 });
    const others = plan.acceptors.map((a) => a.node).filter((n) => n !== leaderNode);
    sim.partition([leaderNode], others);
    const answer = await call<Answer>(c, { type: 'propose', id: 2 });
    expect(answer).toMatchObject({ kind: 'unknown', name: 'PaxosUnavailableError', message: expect.stringContaining('lost'), retry: { seq: 2 } });
    sim.heal();
    const handle = (answer as { retry: RetryHandle }).retry;
    const again = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 50, resume: { session: handle.session, ack: 1, nextSeq: 3 } }, { name: 'again' });
    expect(await call<Answer>(again, { type: 'retry', handle })).toEqual({ kind: 'ok', result: 1 });
    await sim.runFor(2 * LEASE_MS);
    for (const counts of await appliedCounts(sim, plan)) expect(counts.get(2)).toBe(1);
  });

  it('under drops and duplicates, every failure is classified truly: no-effect commands were never applied, unknown ones retried to their one result', async () => {
    let unknowns = 0;
    await forEachSeed(6, async (seed) => {
      const { sim, plan, call } = await setUp(seed, { delayMs: [1, 8], drop: 0.15, duplicate: 0.1, reorder: true });
      const c = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 2 });
      const report = await call<RunReport>(c, { type: 'run', count: 30 });
      unknowns += report.unknowns;
      expect(report.results.filter((r) => r === 'lost')).toEqual([]);
      await sim.runFor(5 * LEASE_MS);
      for (const counts of await appliedCounts(sim, plan)) {
        report.results.forEach((r, id) => {
          if (r === 'no-effect') expect(counts.has(id)).toBe(false);
          else expect([r, counts.get(id)]).toEqual([1, 1]);
        });
      }
    });
    expect(unknowns).toBeGreaterThan(0); // the unknown path was taken, and retried to the truth
  }, 60_000);

  it('a client restarted under the same id resumes its position: it learns an unknown outcome and carries on with the next seq', async () => {
    const { sim, plan, nodes, call } = await setUp(11);
    const first = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 3 }, { name: 'first' });
    expect(await call<Answer>(first, { type: 'propose', id: 1 })).toEqual({ kind: 'ok', result: 1 });
    sim.partition(nodes, [CLIENTS], { oneWay: true });
    const lost = (await call<Answer>(first, { type: 'propose', id: 2 })) as Extract<Answer, { kind: 'unknown' }>;
    expect(lost.kind).toBe('unknown');
    const position = (await call<ClientPosition | null>(first, { type: 'position' }))!;
    expect(position).toEqual({ session: lost.retry!.session, ack: 1, nextSeq: 3 });
    sim.heal();
    // The first client is gone; a new one starts from what the first one saved.
    sim.crash(CLIENTS);
    sim.restart(CLIENTS);
    const second = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 3, resume: position }, { name: 'second' });
    expect(await call<Answer>(second, { type: 'retry', handle: lost.retry! })).toEqual({ kind: 'ok', result: 1 });
    expect(await call<Answer>(second, { type: 'propose', id: 3 })).toEqual({ kind: 'ok', result: 1 });
    expect(await call<ClientPosition | null>(second, { type: 'position' })).toEqual({ session: position.session, ack: 3, nextSeq: 4 });
    await sim.runFor(2 * LEASE_MS);
    for (const counts of await appliedCounts(sim, plan)) expect([...counts]).toEqual([[1, 1], [2, 1], [3, 1]]);
  });

  it('a call refused for lack of room in the window fails as no effect, and is never applied', async () => {
    const { sim, plan } = await setUp(13);
    const client = new PaxosClient({
      clientId: 'narrow',
      machine: ONCE,
      proposers: plan.proposers,
      ask: (ref, m, timeoutMs) => sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>,
      sleep: (ms) => sim.runFor(ms),
      window: 1,
      maxWaiting: 1,
    });
    const outcomes: unknown[] = [];
    [1, 2, 3].forEach((id, i) => void client.propose({ id }).then((r) => (outcomes[i] = r), (e: unknown) => (outcomes[i] = e)));
    expect(await sim.runUntil(() => outcomes.filter((o) => o !== undefined).length === 3, { maxMs: 20 * LEASE_MS })).toBe(true);
    expect(outcomes.slice(0, 2)).toEqual([1, 1]);
    expect(outcomes[2]).toBeInstanceOf(PaxosNoEffectError);
    await sim.runFor(2 * LEASE_MS);
    for (const counts of await appliedCounts(sim, plan)) expect([...counts]).toEqual([[1, 1], [2, 1]]);
  });

  it('with its session open and room in the window, a propose leaves in the call itself; without room it waits its turn', async () => {
    const { sim, plan } = await setUp(14);
    const sent: number[] = [];
    const client = new PaxosClient({
      clientId: 'prompt',
      machine: ONCE,
      proposers: plan.proposers,
      ask: (ref, m, timeoutMs) => {
        if (m.type === 'propose' && m.cmd.type === 'op') sent.push(m.cmd.seq);
        return sim.ask(ref, m, { timeoutMs }) as Promise<ProposeReply>;
      },
      sleep: (ms) => sim.runFor(ms),
      window: 2,
    });
    const first = client.propose({ id: 1 });
    expect(sent).toEqual([]); // the session is opened first
    await sim.runUntil(() => sent.length === 1, { maxMs: 20 * LEASE_MS });
    const results = [first, client.propose({ id: 2 })];
    expect(sent).toEqual([1, 2]); // sent before propose returned
    results.push(client.propose({ id: 3 }));
    expect(sent).toEqual([1, 2]); // the window (2) is full: seq 3 waits for an answer
    const answers: unknown[] = [];
    void Promise.all(results).then((r) => answers.push(...r));
    expect(await sim.runUntil(() => answers.length === 3, { maxMs: 20 * LEASE_MS })).toBe(true);
    expect(answers).toEqual([1, 1, 1]);
    expect(sent).toEqual([1, 2, 3]);
  });

  it('leader() answers the proposer that holds the lease and its ballot, and none when no proposer answers', async () => {
    const { sim, plan, nodes, leader, call } = await setUp(3);
    const c = sim.spawn(CLIENTS, TruthClient, { proposers: plan.proposers, maxAttempts: 3 });
    const info = await call<LeaderInfo | null>(c, { type: 'leader' });
    expect(info?.ref.equals(plan.proposers[leader.id]!)).toBe(true);
    expect(info?.ballot).toEqual(leader.ballot);
    sim.partition(nodes, [CLIENTS]);
    expect(await call<LeaderInfo | null>(c, { type: 'leader' })).toBeNull();
  });
});
