import { describe, expect, it } from '@jest/globals';
import { ActorRef, seededRandom, type ReplyHandle } from '@actorfs/actors';
import { timing, type AcceptorMsg, type Ballot, type Command, type LeadershipEvent, type LearnerMsg, type ProposerMsg, type SlotValue } from '../src/index.ts';
import { ProposerCore, type ProposerEffect } from '../src/proposer-core.ts';
import { decodeSlotValue } from '../src/slot-bytes.ts';

// The proposer's rules, one per test, checked on the pure core message by message: no actors, no
// network, no clock but the `now` each step is given.

const T = timing({ leaseMs: 100 }); // heartbeat 25, drift 10, retransmit 25, thrifty wait 5
const acceptors = [0, 1, 2].map((i) => new ActorRef<AcceptorMsg>(`n${i}`, `acc-${i}`));
const learners = [0, 1, 2].map((i) => new ActorRef<LearnerMsg>(`n${i}`, `learner-${i}`));
const proposers = [0, 1].map((i) => new ActorRef<ProposerMsg>(`n${i}`, `prop-${i}`));
const handle = (corr: number): ReplyHandle => ({ node: 'client', corr });
const cmd = (seq: number): Command => ({ type: 'op', session: 's', seq, ack: 0, op: seq });
const slot = (...seqs: number[]): SlotValue => ({ cmds: seqs.map(cmd), time: 0 });

function core(timingOverrides: Partial<typeof T> = {}): ProposerCore {
  return new ProposerCore({ id: 0, self: proposers[0]!, acceptors, learners, proposers }, { ...T, ...timingOverrides }, seededRandom(1), { round: 0, now: 0 });
}

type Sent = { to: string; msg: { type: string } & Record<string, unknown> };
/** The messages among effects (sent at once, once durable, or one to many), as [target id, message]. */
function sent(effects: ProposerEffect[], type?: string): Sent[] {
  return effects
    .flatMap((e) => {
      if (e.type === 'send-many') return e.to.map((to) => ({ to: to.id, msg: e.msg as Sent['msg'] }));
      return e.type === 'send' || e.type === 'send-durable' ? [{ to: e.to.id, msg: e.msg as Sent['msg'] }] : [];
    })
    .filter((s) => type === undefined || s.msg.type === type);
}

/** The value an accept carries (encoded once for every acceptor). */
const valueOf = (accept: Sent['msg']): SlotValue => decodeSlotValue(accept.value as Uint8Array, accept.slot as number);

/** The effects that carry a message of this type: one per message the host encodes for all its targets. */
function sends(effects: ProposerEffect[], type: string): Array<{ to: string[] }> {
  return effects.flatMap((e) =>
    (e.type === 'send' || e.type === 'send-many') && (e.msg as { type: string }).type === type ? [{ to: e.type === 'send' ? [e.to.id] : e.to.map((r) => r.id) }] : [],
  );
}

/** Steps until the follower's election timer fires; returns the election's effects. */
function elect(c: ProposerCore): { effects: ProposerEffect[]; now: number; ballot: Ballot } {
  for (let now = 0; now < 10 * T.leaseMs; now += T.heartbeatMs) {
    const effects = c.step({ type: 'tick' }, now);
    const prepare = sent(effects, 'prepare')[0];
    if (prepare) return { effects, now, ballot: prepare.msg.ballot as Ballot };
  }
  throw new Error('no election');
}

/** A leader at `now`, its lease held (heartbeat round 1 acknowledged by a majority). */
function leader(c: ProposerCore, accepted: Array<[number, Ballot, SlotValue]> = []): { now: number; ballot: Ballot } {
  const { now, ballot } = elect(c);
  for (const acceptor of [0, 1]) c.step({ type: 'promise', ballot, acceptor, from: 1, accepted, more: false, truncatedBefore: 0 }, now);
  for (const acceptor of [0, 1]) c.step({ type: 'heartbeat-ack', ballot, round: 1, acceptor }, now);
  return { now, ballot };
}

describe('ProposerCore: phase 1', () => {
  it('a follower starts an election only at its election time: the round is persisted before prepares go out once durable', () => {
    const c = core();
    expect(sent(c.step({ type: 'tick' }, 0))).toEqual([]); // waits at least a heartbeat interval first
    const { effects, ballot } = elect(c);
    expect(effects[0]).toEqual({ type: 'persist', key: 'round', value: 1 });
    expect(ballot).toEqual({ round: 1, id: 0 });
    const prepares = effects.filter((e) => e.type === 'send-durable');
    expect(prepares.map((e) => (e as { to: ActorRef<never> }).to.id)).toEqual(['acc-0', 'acc-1', 'acc-2']);
    expect(c.status(0).role).toBe('candidate');
  });

  it('with a majority of promises it leads, re-proposing each slot\'s highest-ballot value and filling gaps with no-ops', () => {
    const c = core();
    const { now, ballot } = elect(c);
    const low = { round: 0, id: 1 };
    const high = { round: 0, id: 2 };
    c.step({ type: 'promise', ballot, acceptor: 0, from: 1, accepted: [[1, low, slot(1)], [3, low, slot(3)]], more: false, truncatedBefore: 0 }, now);
    expect(c.status(now).role).toBe('candidate'); // one promise of three is no majority
    const effects = c.step({ type: 'promise', ballot, acceptor: 2, from: 1, accepted: [[1, high, slot(9)]], more: false, truncatedBefore: 0 }, now);
    expect(c.status(now).role).toBe('leader');
    const accepts = sent(effects, 'accept').map((s) => [s.msg.slot, valueOf(s.msg).cmds.map((x) => (x as { seq: number }).seq)]);
    expect(new Map(accepts as Array<[number, number[]]>)).toEqual(
      new Map([
        [1, [9]],
        [2, []],
        [3, [3]],
      ]),
    );
    expect(c.status(now).nextSlot).toBe(4);
  });

  it('a promise in pieces counts once its last piece is in, each asked for in turn; duplicates are ignored', () => {
    const c = core();
    const { now, ballot } = elect(c);
    const b = { round: 0, id: 1 };
    const piece = (acceptor: number, from: number, slots: number[], more: boolean) =>
      c.step({ type: 'promise', ballot, acceptor, from, accepted: slots.map((s): [number, Ballot, SlotValue] => [s, b, slot(s)]), more, truncatedBefore: 0 }, now);
    expect(sent(piece(0, 1, [1, 2], true), 'prepare-more')).toEqual([{ to: 'acc-0', msg: { type: 'prepare-more', ballot, fromSlot: 3, proposer: proposers[0] } }]);
    piece(1, 1, [1, 2, 3], false);
    expect(c.status(now).role).toBe('candidate'); // acceptor 0's promise is not whole yet
    piece(0, 1, [1, 2], true); // a copy of the first piece
    const done = piece(0, 3, [3], false);
    expect(c.status(now).role).toBe('leader');
    expect(sent(done, 'accept').map((a) => a.msg.slot)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('a candidate told of another\'s lease waits it out as a follower', () => {
    const c = core();
    const { now, ballot } = elect(c);
    c.step({ type: 'nack', ballot, promised: { round: 0, id: 1 }, acceptor: 1, leaseMs: 60 }, now);
    expect(c.status(now).role).toBe('follower');
    expect(sent(c.step({ type: 'tick' }, now + 59), 'prepare')).toEqual([]);
  });

  it('a candidate whose promises never arrive keeps losing, and after a few elections in a row says why in the log', () => {
    const c = core();
    const warnings: string[] = [];
    let prepares = 0;
    for (let now = 0; now < 100 * T.leaseMs; now += T.heartbeatMs) {
      for (const e of c.step({ type: 'tick' }, now)) {
        if (e.type === 'log' && e.level === 'warn') warnings.push(e.text);
        if ((e.type === 'send' || e.type === 'send-durable') && (e.msg as { type: string }).type === 'prepare' && e.to.id === 'acc-0') prepares++;
      }
    }
    expect(prepares).toBeGreaterThan(5); // it did keep trying
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatch(/lost 5 elections in a row: no majority of promises arrived within the lease \(100 ms\)/);
    expect(warnings[0]).toMatch(/leaseMs longer than a round trip plus a synced commit/);
  });

  it('a candidate that wins resets its count of lost elections: no warning for losses before it led', () => {
    const c = core();
    const warnings: string[] = [];
    for (let now = 0, lost = 0; lost < 4; now += T.heartbeatMs) {
      for (const e of c.step({ type: 'tick' }, now)) {
        if (e.type === 'log' && e.level === 'debug' && e.text === 'lost an election') lost++;
        if (e.type === 'log' && e.level === 'warn') warnings.push(e.text);
      }
    }
    const { now, ballot } = elect(c);
    for (const acceptor of [0, 1]) c.step({ type: 'promise', ballot, acceptor, from: 1, accepted: [], more: false, truncatedBefore: 0 }, now);
    expect(c.status(now).role).toBe('leader');
    // Cut off now: it steps down, and the elections it then loses count from zero.
    for (let t = now; t < now + 12 * T.leaseMs; t += T.heartbeatMs) {
      for (const e of c.step({ type: 'tick' }, t)) if (e.type === 'log' && e.level === 'warn') warnings.push(e.text);
    }
    expect(warnings).toEqual([]);
  });
});

describe('ProposerCore: phase 2', () => {
  it('commands queued together go out in one slot to the thrifty majority; a majority of accepts chooses it and every learner hears', () => {
    const c = core();
    const { now, ballot } = leader(c);
    const first = c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    expect(sent(first)).toEqual([{ to: 'prop-0', msg: { type: 'flush' } }]); // after the mailbox's other proposes
    c.step({ type: 'propose', cmd: cmd(2), handle: handle(2) }, now);
    const flushed = c.step({ type: 'flush' }, now);
    const accepts = sent(flushed, 'accept');
    expect(accepts.map((a) => a.to)).toEqual(['acc-0', 'acc-1']); // the local one and one more: a majority
    expect(valueOf(accepts[0]!.msg).cmds).toHaveLength(2);
    const s = accepts[0]!.msg.slot as number;
    expect(sent(c.step({ type: 'accepted', ballot, acceptor: 0, slot: s }, now + 1), 'commit')).toEqual([]);
    const commits = sent(c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now + 1), 'commit');
    expect(commits.map((m) => m.to).sort()).toEqual(['learner-0', 'learner-1', 'learner-2']);
    expect(commits.filter((m) => m.msg.handles)).toHaveLength(3); // no learner heard from yet: all answer
    expect(c.status(now + 1).commitIndex).toBe(s);
  });

  it('a slot\'s value leaves the core once for its acceptors and once for the learners that do not answer its clients (the host encodes each once)', () => {
    const c = core({ thrifty: false });
    const { now, ballot } = leader(c);
    for (const learner of [0, 1, 2]) c.step({ type: 'learner-status', learner, applied: 0, snapshot: 0 }, now);
    c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    const flushed = c.step({ type: 'flush' }, now);
    expect(sends(flushed, 'accept')).toEqual([{ to: ['acc-0', 'acc-1', 'acc-2'] }]);
    const s = sent(flushed, 'accept')[0]!.msg.slot as number;
    c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now);
    const chosen = c.step({ type: 'accepted', ballot, acceptor: 2, slot: s }, now);
    // The learner beside the leader answers (with the handles); the other two share one message,
    // which carries the value as the accepts did (the bytes encoded once).
    expect(sends(chosen, 'commit')).toEqual([{ to: ['learner-0'] }]);
    expect(sent(chosen, 'commit')[0]!.msg.handles).toBeDefined();
    expect(sends(chosen, 'commit-encoded')).toEqual([{ to: ['learner-1', 'learner-2'] }]);
    expect(sent(chosen, 'commit-encoded')[0]!.msg.value).toBe(sent(flushed, 'accept')[0]!.msg.value);
  });

  it("a slot's Accept is urgent (the remote acceptors' syncs wait on it, not the own acceptor's write); its commits are not", () => {
    const c = core();
    const { now, ballot } = leader(c);
    c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    const flushed = c.step({ type: 'flush' }, now);
    /** Per effect carrying a message of this type: whether it is urgent. */
    const urgent = (effects: ProposerEffect[], type: string): boolean[] =>
      effects.flatMap((e) => ((e.type === 'send' || e.type === 'send-many') && (e.msg as { type: string }).type === type ? [e.type === 'send-many' && e.urgent === true] : []));
    expect(urgent(flushed, 'accept')).toEqual([true]);
    const s = sent(flushed, 'accept')[0]!.msg.slot as number;
    c.step({ type: 'accepted', ballot, acceptor: 0, slot: s }, now);
    const chosen = c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now);
    expect(urgent(chosen, 'commit')).toEqual([false, false, false]); // no learner heard from yet: each answers
  });

  it('the own acceptor stays in the thrifty majority while it answers, even when measured slower than the remotes', () => {
    const c = core();
    const { now: start, ballot } = leader(c);
    let now = start;
    // Under load the own acceptor (acc-0, on the leader's node) answers after acc-1: at 4 ms, acc-1 at 1 ms.
    for (let seq = 1; seq <= 20; seq++) {
      c.step({ type: 'propose', cmd: cmd(seq), handle: null }, now);
      const accepts = sent(c.step({ type: 'flush' }, now), 'accept');
      expect(accepts.map((a) => a.to)).toEqual(['acc-0', 'acc-1']);
      const s = accepts[0]!.msg.slot as number;
      c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now + 1);
      c.step({ type: 'accepted', ballot, acceptor: 0, slot: s }, now + 4);
      now += 5;
    }
    for (const acceptor of [0, 1, 2]) c.step({ type: 'heartbeat-ack', ballot, round: 1, acceptor }, now);
    c.step({ type: 'tick' }, (now += T.heartbeatMs)); // a heartbeat ranks the acceptors again
    c.step({ type: 'propose', cmd: cmd(21), handle: null }, now);
    expect(sent(c.step({ type: 'flush' }, now), 'accept').map((a) => a.to)).toEqual(['acc-0', 'acc-1']);
  });

  it('an own acceptor silent for a whole heartbeat round drops out of the thrifty majority', () => {
    const c = core();
    const { now: start, ballot } = leader(c);
    let now = start;
    for (const round of [2, 3]) {
      c.step({ type: 'tick' }, (now += T.heartbeatMs));
      for (const acceptor of [1, 2]) c.step({ type: 'heartbeat-ack', ballot, round, acceptor }, now);
    }
    c.step({ type: 'tick' }, (now += T.heartbeatMs));
    c.step({ type: 'propose', cmd: cmd(1), handle: null }, now);
    expect(sent(c.step({ type: 'flush' }, now), 'accept').map((a) => a.to)).toEqual(['acc-1', 'acc-2']);
  });

  it('a slot its thrifty majority has not chosen within thriftyWaitMs goes to the other acceptors too', () => {
    const c = core();
    const { now } = leader(c);
    c.step({ type: 'propose', cmd: cmd(1), handle: null }, now);
    const flushed = c.step({ type: 'flush' }, now);
    expect(flushed).toContainEqual({ type: 'timer', name: 'widen', ms: T.thriftyWaitMs, msg: { type: 'widen' } });
    expect(sent(c.step({ type: 'widen' }, now + T.thriftyWaitMs - 1), 'accept')).toEqual([]);
    expect(sent(c.step({ type: 'widen' }, now + T.thriftyWaitMs), 'accept').map((a) => a.to)).toEqual(['acc-2']);
  });

  it('an accept a majority has not answered within retransmitMs is sent again, only to those that have not', () => {
    const c = core({ thrifty: false });
    const { now, ballot } = leader(c);
    c.step({ type: 'propose', cmd: cmd(1), handle: null }, now);
    const s = sent(c.step({ type: 'flush' }, now), 'accept')[0]!.msg.slot as number;
    c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now + 1);
    expect(sent(c.step({ type: 'tick' }, now + T.retransmitMs - 1), 'accept')).toEqual([]);
    expect(sent(c.step({ type: 'tick' }, now + T.retransmitMs), 'accept').map((a) => a.to)).toEqual(['acc-0', 'acc-2']);
  });

  it('a learner that missed slots gets them from the leader\'s recent log', () => {
    const c = core({ thrifty: false });
    const { now, ballot } = leader(c);
    for (let seq = 1; seq <= 3; seq++) {
      c.step({ type: 'propose', cmd: cmd(seq), handle: null }, now);
      const s = sent(c.step({ type: 'flush' }, now), 'accept')[0]!.msg.slot as number;
      for (const acceptor of [0, 1]) c.step({ type: 'accepted', ballot, acceptor, slot: s }, now);
    }
    const reply = sent(c.step({ type: 'fetch', from: 2, learner: learners[2]! }, now), 'entries');
    expect(reply).toHaveLength(1);
    expect((reply[0]!.msg.entries as Array<[number, SlotValue]>).map(([s]) => s)).toEqual([2, 3]);
  });
});

describe('ProposerCore: batchLingerMs', () => {
  const seqsOf = (effects: ProposerEffect[]): number[][] => sent(effects, 'accept').slice(0, 1).map((a) => valueOf(a.msg).cmds.map((x) => (x as { seq: number }).seq));
  const propose = (c: ProposerCore, seq: number, now: number): ProposerEffect[] => [
    ...c.step({ type: 'propose', cmd: cmd(seq), handle: handle(seq) }, now),
    ...c.step({ type: 'flush' }, now), // the flush a propose schedules, when it does
  ];
  const choose = (c: ProposerCore, ballot: Ballot, slotIndex: number, now: number): ProposerEffect[] =>
    [0, 1].flatMap((acceptor) => c.step({ type: 'accepted', ballot, acceptor, slot: slotIndex }, now));
  const slotOf = (effects: ProposerEffect[]): number => sent(effects, 'accept')[0]!.msg.slot as number;
  /** A leader with one slot in flight holding commands `seqs` (sent at `now`), and command 100 queued behind it. */
  function oneSlotOut(lingerMs: number, seqs: number[]): { c: ProposerCore; now: number; ballot: Ballot; s1: number } {
    const c = core({ maxInflightSlots: 1, batchLingerMs: lingerMs });
    const { now, ballot } = leader(c);
    for (const seq of seqs) c.step({ type: 'propose', cmd: cmd(seq), handle: handle(seq) }, now);
    const s1 = slotOf(c.step({ type: 'flush' }, now));
    propose(c, 100, now); // arrives while the slot is out: waits for the next
    return { c, now, ballot, s1 };
  }
  const lingerTimer = (effects: ProposerEffect[]): number | undefined => effects.flatMap((e) => (e.type === 'timer' && e.name === 'linger' ? [e.ms] : []))[0];

  it('with every slot in flight, the next slot waits for as many commands as the chosen one answered (or the linger), so they share it', () => {
    for (const lingerMs of [0, 3]) {
      const { c, now, ballot, s1 } = oneSlotOut(lingerMs, [1, 2]);
      const chosen = choose(c, ballot, s1, now + 2);
      if (lingerMs === 0) {
        expect(seqsOf(chosen)).toEqual([[100]]); // the next slot leaves at once with what waited
        expect(seqsOf(propose(c, 4, now + 2))).toEqual([]); // and slot 1's clients' next commands wait for the one after
        continue;
      }
      expect(seqsOf(chosen)).toEqual([]);
      expect(lingerTimer(chosen)).toBe(2); // bounded by the time the slot took (2 ms), below the 3 configured
      expect(seqsOf(propose(c, 4, now + 2))).toEqual([]); // one of the two answered clients is back
      const second = propose(c, 5, now + 2);
      expect(seqsOf(second)).toEqual([[100, 4, 5]]); // both: they share the slot with the one that waited
      // a chosen slot whose clients do not all come back goes at the linger's end
      choose(c, ballot, slotOf(second), now + 4);
      expect(seqsOf(propose(c, 6, now + 4))).toEqual([]);
      expect(seqsOf(c.step({ type: 'linger-over' }, now + 6))).toEqual([[6]]);
    }
  });

  it('after a slot of one command the next leaves at once: that client\'s next command would start it anyway', () => {
    const { c, now, ballot, s1 } = oneSlotOut(8, [1]);
    const chosen = choose(c, ballot, s1, now + 1);
    expect(seqsOf(chosen)).toEqual([[100]]);
    expect(lingerTimer(chosen)).toBeUndefined();
  });

  it('never waits past its bound by the core\'s own clock: an early timer waits out the rest, a late one is not needed', () => {
    const { c, now, ballot, s1 } = oneSlotOut(8, [1, 2, 3]);
    const chosen = choose(c, ballot, s1, now + 5);
    expect(lingerTimer(chosen)).toBe(5); // until now + 10
    const early = c.step({ type: 'linger-over' }, now + 9); // a timer that fired a little early
    expect(seqsOf(early)).toEqual([]);
    expect(lingerTimer(early)).toBe(1);
    // the linger's end passed before its timer came: the next command goes at once, though two were awaited
    expect(seqsOf(propose(c, 4, now + 10))).toEqual([[100, 4]]);
    expect(seqsOf(c.step({ type: 'linger-over' }, now + 11))).toEqual([]); // stale
  });

  it('stops waiting once a slot\'s worth of commands is queued', () => {
    const c = core({ maxInflightSlots: 1, batchLingerMs: 8, maxBatch: 3 });
    const { now, ballot } = leader(c);
    for (const seq of [1, 2, 3]) c.step({ type: 'propose', cmd: cmd(seq), handle: handle(seq) }, now);
    const s1 = slotOf(c.step({ type: 'flush' }, now));
    propose(c, 4, now);
    expect(seqsOf(choose(c, ballot, s1, now + 4))).toEqual([]); // waits for three
    propose(c, 5, now + 4);
    expect(seqsOf(propose(c, 6, now + 4))).toEqual([[4, 5, 6]]); // a full slot: no reason to wait for the third
  });
});

describe('ProposerCore: the lease', () => {
  it('holds from the first heartbeat round a majority acknowledges until leaseMs - driftMs after it was sent; reads only then', () => {
    const c = core();
    const { now, ballot } = elect(c);
    const sub = new ActorRef<LeadershipEvent>('n0', 'master');
    c.step({ type: 'subscribe', subscriber: sub }, now);
    for (const acceptor of [0, 1]) c.step({ type: 'promise', ballot, acceptor, from: 1, accepted: [], more: false, truncatedBefore: 0 }, now);
    const read = (at: number): ProposerEffect[] => c.step({ type: 'read', query: 'q', handle: handle(7) }, at);
    expect(read(now)).toContainEqual(expect.objectContaining({ type: 'reply', reply: expect.objectContaining({ ok: false, reason: 'lease not held' }) }));
    c.step({ type: 'heartbeat-ack', ballot, round: 1, acceptor: 0 }, now + 2);
    expect(c.status(now + 2).leaseValid).toBe(false); // one of three
    const won = c.step({ type: 'heartbeat-ack', ballot, round: 1, acceptor: 2 }, now + 3);
    const until = now + T.leaseMs - T.driftMs;
    expect(sent(won)).toEqual([{ to: 'master', msg: { type: 'leading', ballot, leaseUntil: until } }]);
    expect(sent(read(now + 3), 'read-at')).toHaveLength(3);
    expect(c.status(until - 1).leaseValid).toBe(true);
    expect(c.status(until).leaseValid).toBe(false);
  });

  it('a leader that hears of a higher ballot steps down, refuses its waiting clients and tells its subscribers', () => {
    const c = core();
    const { now, ballot } = leader(c);
    const sub = new ActorRef<LeadershipEvent>('n0', 'master');
    c.step({ type: 'subscribe', subscriber: sub }, now);
    c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    const effects = c.step({ type: 'nack', ballot, promised: { round: 5, id: 1 }, acceptor: 1, leaseMs: 0 }, now + 1);
    expect(c.status(now + 1).role).toBe('follower');
    expect(effects).toContainEqual({ type: 'reply', handle: handle(1), reply: expect.objectContaining({ ok: false }) });
    expect(sent(effects)).toContainEqual({ to: 'master', msg: { type: 'not-leading', ballot, reason: 'higher ballot' } });
  });

  it('stepping down, a leader tells a client whose command may be in an accept so (its outcome is unknown), and one only queued that it was not proposed', () => {
    const c = core();
    const { now, ballot } = leader(c);
    c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    const accepts = sent(c.step({ type: 'flush' }, now), 'accept');
    expect(accepts.length).toBeGreaterThan(0); // seq 1 is in an accept
    c.step({ type: 'propose', cmd: cmd(2), handle: handle(2) }, now); // queued: its flush has not run
    const effects = c.step({ type: 'nack', ballot, promised: { round: 5, id: 1 }, acceptor: 1, leaseMs: 0 }, now + 1);
    const replies = new Map(effects.flatMap((e) => (e.type === 'reply' ? [[e.handle.corr, e.reply] as const] : [])));
    expect(replies.get(1)).toMatchObject({ ok: false, maybeProposed: true });
    expect(replies.get(2)).toMatchObject({ ok: false });
    expect(replies.get(2)).not.toHaveProperty('maybeProposed');
  });
});

describe('ProposerCore: propose-batch (many commands in one message, one reply)', () => {
  const seqsIn = (effects: ProposerEffect[]): number[][] => sent(effects, 'accept').filter((a) => a.to === 'acc-0').map((a) => valueOf(a.msg).cmds.map((x) => (x as { seq: number }).seq));
  const replies = (effects: ProposerEffect[]): unknown[] => effects.flatMap((e) => (e.type === 'reply' ? [e.reply] : []));
  const malformed = { type: 'op', session: 's', seq: 0, ack: 0, op: 0 } as Command;

  it("a batch's commands share one slot in order, and the answering learner gets one answer for the batch, a refused command in its place", () => {
    const c = core({ thrifty: false });
    const { now, ballot } = leader(c);
    c.step({ type: 'learner-status', learner: 0, applied: 0, snapshot: 0 }, now);
    const admitted = c.step({ type: 'propose-batch', cmds: [cmd(1), malformed, cmd(2)], handle: handle(7) }, now);
    expect(replies(admitted)).toEqual([]); // answered once applied, not before
    const flushed = c.step({ type: 'flush' }, now);
    expect(seqsIn(flushed)).toEqual([[1, 2]]);
    const s = sent(flushed, 'accept')[0]!.msg.slot as number;
    c.step({ type: 'accepted', ballot, acceptor: 1, slot: s }, now);
    const commits = sent(c.step({ type: 'accepted', ballot, acceptor: 2, slot: s }, now), 'commit');
    const answering = commits.find((m) => m.to === 'learner-0')!.msg;
    expect(answering.handles).toEqual([null, null]);
    expect(answering.batches).toEqual([{ handle: handle(7), parts: [0, expect.objectContaining({ ok: false, refused: 'malformed' }), 1] }]);
    expect(commits.filter((m) => m.to !== 'learner-0')).toEqual([]); // the others' commits carry bytes, no answers
  });

  it('a batch is never split across slots: one that would cross maxBatch goes whole into the next slot', () => {
    const c = core({ maxBatch: 4 });
    const { now } = leader(c);
    c.step({ type: 'propose', cmd: cmd(1), handle: handle(1) }, now);
    c.step({ type: 'propose', cmd: cmd(2), handle: handle(2) }, now);
    c.step({ type: 'propose-batch', cmds: [cmd(3), cmd(4), cmd(5)], handle: handle(3) }, now);
    c.step({ type: 'propose', cmd: cmd(6), handle: handle(6) }, now);
    expect(seqsIn(c.step({ type: 'flush' }, now))).toEqual([[1, 2], [3, 4, 5, 6]]);
  });

  it("a batch past maxBatch or maxBatchBytes is refused whole, in one reply, as too large, with the group's bounds", () => {
    const c = core({ maxBatch: 4, maxBatchBytes: 10_000 });
    const { now } = leader(c);
    const refused = expect.objectContaining({ ok: false, refused: 'too-large', batchBounds: { maxCommands: 4, maxBytes: 10_000 } });
    const tooMany = replies(c.step({ type: 'propose-batch', cmds: [1, 2, 3, 4, 5].map(cmd), handle: handle(1) }, now));
    expect(tooMany).toEqual([Array.from({ length: 5 }, () => refused)]);
    const big = (seq: number): Command => ({ type: 'op', session: 's', seq, ack: 0, op: 'x'.repeat(4_000) });
    const tooBig = replies(c.step({ type: 'propose-batch', cmds: [1, 2, 3].map(big), handle: handle(2) }, now));
    expect(tooBig).toEqual([Array.from({ length: 3 }, () => refused)]);
    expect(sent(c.step({ type: 'flush' }, now), 'accept')).toEqual([]);
  });

  it('a follower answers a batch in one reply, each command not proposed', () => {
    const c = core();
    const out = replies(c.step({ type: 'propose-batch', cmds: [cmd(1), malformed], handle: handle(1) }, 0));
    expect(out).toEqual([[{ ok: false, reason: 'not leader' }, expect.objectContaining({ refused: 'malformed' })]]);
  });

  it('stepping down, a leader answers each batch once: maybe proposed if in an accept, not proposed if only queued', () => {
    const c = core();
    const { now, ballot } = leader(c);
    c.step({ type: 'propose-batch', cmds: [cmd(1), cmd(2)], handle: handle(1) }, now);
    c.step({ type: 'flush' }, now);
    c.step({ type: 'propose-batch', cmds: [cmd(3), cmd(4)], handle: handle(2) }, now); // queued: its flush has not run
    const effects = c.step({ type: 'nack', ballot, promised: { round: 5, id: 1 }, acceptor: 1, leaseMs: 0 }, now + 1);
    const byCorr = new Map(effects.flatMap((e) => (e.type === 'reply' ? [[e.handle.corr, e.reply] as const] : [])));
    expect(effects.filter((e) => e.type === 'reply')).toHaveLength(2);
    expect(byCorr.get(1)).toEqual([1, 2].map(() => expect.objectContaining({ ok: false, maybeProposed: true })));
    expect(byCorr.get(2)).toEqual([3, 4].map(() => ({ ok: false, reason: 'higher ballot' })));
  });

  it('a duplicated batch message is queued again whole (the sessions then apply each command once: see propose-batch.test)', () => {
    const c = core();
    const { now } = leader(c);
    const batch = { type: 'propose-batch' as const, cmds: [cmd(1), cmd(2)], handle: handle(1) };
    c.step(batch, now);
    c.step(batch, now);
    expect(seqsIn(c.step({ type: 'flush' }, now))).toEqual([[1, 2, 1, 2]]);
  });
});
