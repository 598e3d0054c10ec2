import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { compareBallots, highestBallotPerSlot, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.ts';
import { majority, timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, Command, LeadershipEvent, LearnerMsg, ProposerMsg, SlotValue } from './messages.ts';
import { approxBytes, takeWithin } from './size.ts';
import { commandProblem, droppedAsMalformed, proposerMsgProblem } from './validate.ts';

export interface ProposerProps {
  /** Unique among the group's proposers: it breaks ties between ballots of the same round. */
  id: number;
  acceptors: ActorRef<AcceptorMsg>[];
  learners: ActorRef<LearnerMsg>[];
  /** Every proposer of the group, this one included. */
  proposers: ActorRef<ProposerMsg>[];
  timing?: Partial<PaxosTiming>;
}

type Role = 'follower' | 'candidate' | 'leader';
type Handles = Array<ReplyHandle | null>;
interface Inflight {
  value: SlotValue;
  /** approxBytes of the value's commands. */
  bytes: number;
  handles: Handles;
  acks: Set<number>;
  sentAt: number;
  /** Sent to every acceptor (not only the thrifty majority). */
  wide: boolean;
}

/** Queued commands beyond this are refused (the client backs off and retries). */
const MAX_QUEUED = 100_000;
const FETCH_BATCH = 256;
/** Local subscribers to leadership events at most; more are refused with a warning. */
const MAX_SUBSCRIBERS = 16;

/**
 * A proposer. At most one is leader at a time in steady state: it wins phase 1 once for every
 * slot from its first open one on, then runs only phase 2, batching queued commands into slots
 * with several slots in flight. Its leadership is a lease that acceptors grant and it renews with
 * heartbeats; while the lease holds it serves linearizable reads. Followers wait out the lease
 * (plus a drift margin and a random backoff) before they try phase 1 themselves. Duelling
 * proposers stay safe (Paxos), only slower.
 */
export const Proposer = defineActor('paxos.proposer', (props: ProposerProps, ctx: ActorContext<ProposerMsg>) => {
  const t = timing(props.timing);
  const quorum = majority(props.acceptors.length);
  const store = ctx.storage;
  const self = ctx.self;

  let role: Role = 'follower';
  /** Highest round seen or used; persisted before a ballot with it is used. */
  let round = store.get<number>('round') ?? 0;
  let ballot: Ballot = ZERO_BALLOT;
  let leader: { ref: ActorRef<ProposerMsg>; ballot: Ballot; heardAt: number } | undefined;
  let electionAt = ctx.now() + t.heartbeatMs + ctx.random() * t.leaseMs;

  // candidate
  let promises = new Map<number, Array<[number, Ballot, SlotValue]>>();
  let truncatedBefore = 0;
  let prepareSentAt = 0;

  // leader
  let nextSlot = 1;
  let commitIndex = 0;
  const chosenAhead = new Set<number>();
  const chosenLog = new Map<number, SlotValue>();
  const inflight = new Map<number, Inflight>();
  let queue: Array<{ cmd: Command; handle: ReplyHandle | null; bytes: number }> = [];
  let flushScheduled = false;
  let leaseUntil = 0;
  let leadingSince = 0;
  let hbRound = 0;
  const hbRounds = new Map<number, { sentAt: number; acks: Set<number> }>();
  const learnerHeard = new Map<number, number>();
  let learnerSnapshot = 0;
  let truncateSent = 0;

  const others = props.proposers.filter((p) => !p.equals(self));
  /** Smoothed accept-to-accepted time per acceptor; the local one starts out fastest. */
  const ackMs: number[] = props.acceptors.map((a) => (a.node === self.node ? 0 : 1));
  let fastest: number[] = [];
  let widenArmed = false;
  const jitter = (spanMs: number): number => ctx.random() * spanMs;
  const subscribers: ActorRef<LeadershipEvent>[] = [];
  const tellSubscribers = (event: LeadershipEvent): void => {
    for (const s of subscribers) ctx.send(s, event);
  };

  /** A refusal, naming the leader only while it is likely alive (heard from within a lease term). */
  const notLeader = (reason: string): { ok: false; leader?: ActorRef<ProposerMsg>; reason: string } =>
    leader && !leader.ref.equals(self) && ctx.now() - leader.heardAt <= t.leaseMs ? { ok: false, leader: leader.ref, reason } : { ok: false, reason };

  /**
   * The learner that answers clients: one on this node if it is alive, else any recently heard;
   * undefined when none has been heard lately (a new leader), and then every learner answers (the
   * asker keeps the first reply), so a dead learner cannot swallow the replies.
   */
  const responder = (): ActorRef<LearnerMsg> | undefined => {
    const alive = (i: number): boolean => ctx.now() - (learnerHeard.get(i) ?? -Infinity) <= 3 * t.heartbeatMs;
    const local = props.learners.findIndex((l, i) => l.node === self.node && alive(i));
    if (local >= 0) return props.learners[local]!;
    const any = props.learners.findIndex((_, i) => alive(i));
    return any >= 0 ? props.learners[any]! : undefined;
  };

  const responderOrAll = (): ActorRef<LearnerMsg>[] => {
    const r = responder();
    return r ? [r] : props.learners;
  };

  const becomeFollower = (reason: string, waitMs: number): void => {
    if (role === 'leader') {
      ctx.log.info('stepping down', { reason, ballot });
      if (leaseUntil > 0) tellSubscribers({ type: 'not-leading', ballot, reason });
    } else ctx.log.debug('follower', { reason, waitMs });
    role = 'follower';
    electionAt = ctx.now() + waitMs;
    for (const q of queue) if (q.handle) ctx.replyTo(q.handle, notLeader(reason));
    queue = [];
    for (const e of inflight.values()) for (const h of e.handles) if (h) ctx.replyTo(h, notLeader(reason));
    inflight.clear();
    hbRounds.clear();
    leaseUntil = 0;
  };

  const startElection = (): void => {
    round = Math.max(round, leader?.ballot.round ?? 0) + 1;
    ballot = { round, id: props.id };
    store.put('round', round);
    role = 'candidate';
    promises = new Map();
    truncatedBefore = 0;
    prepareSentAt = ctx.now();
    ctx.log.debug('starting election', { ballot });
    const prepare = { type: 'prepare' as const, ballot, fromSlot: commitIndex + 1, proposer: self };
    // The round is on disk before any acceptor hears of it.
    for (const a of props.acceptors) ctx.sendWhenDurable(a, prepare);
  };

  const becomeLeader = (): void => {
    role = 'leader';
    leader = { ref: self, ballot, heardAt: ctx.now() };
    // The lease is earned by the first heartbeat round a majority acknowledges (sent just below).
    leaseUntil = 0;
    leadingSince = ctx.now();
    // Slots below every acceptor's truncation point were chosen and live on in snapshots.
    advanceCommitTo(truncatedBefore - 1);
    const start = commitIndex + 1;
    const best = highestBallotPerSlot<SlotValue>(promises.values(), start);
    const last = Math.max(commitIndex, ...best.keys());
    // Re-propose what may have been chosen, and fill the gaps with no-ops.
    for (let slot = start; slot <= last; slot++) {
      if (chosenAhead.has(slot)) continue;
      propose(slot, best.get(slot) ?? { cmds: [], time: ctx.now() }, []);
    }
    nextSlot = last + 1;
    ctx.log.info('leading', { ballot, from: start, recovered: last - start + 1 });
    heartbeat();
    flush();
  };

  /** Every slot up to index is chosen (known from elsewhere: snapshots, truncation). */
  const advanceCommitTo = (index: number): void => {
    if (index <= commitIndex) return;
    commitIndex = index;
    for (const s of [...chosenAhead]) if (s <= commitIndex) chosenAhead.delete(s);
    while (chosenAhead.delete(commitIndex + 1)) commitIndex++;
  };

  /** Sends slot's Accept to the acceptors `to` picks (by index). */
  const sendAccept = (slot: number, value: SlotValue, to: (acceptor: number) => boolean): void => {
    const accept = { type: 'accept' as const, ballot, slot, value, proposer: self };
    props.acceptors.forEach((a, i) => to(i) && ctx.send(a, accept));
  };

  const propose = (slot: number, value: SlotValue, handles: Handles, bytes = approxBytes(value)): void => {
    const wide = !t.thrifty;
    inflight.set(slot, { value, bytes, handles, acks: new Set(), sentAt: ctx.now(), wide });
    if (wide) return sendAccept(slot, value, () => true);
    sendAccept(slot, value, (i) => fastest.includes(i));
    if (!widenArmed) {
      widenArmed = true;
      ctx.setTimer('widen', t.thriftyWaitMs, { type: 'widen' });
    }
  };

  /** Slots the thrifty majority has not chosen in time go to every acceptor. */
  const widen = (): void => {
    widenArmed = false;
    const now = ctx.now();
    let waiting = false;
    for (const [slot, e] of inflight) {
      if (e.wide) continue;
      if (now - e.sentAt < t.thriftyWaitMs) {
        waiting = true;
        continue;
      }
      e.wide = true;
      sendAccept(slot, e.value, (i) => !fastest.includes(i));
    }
    if (waiting) {
      widenArmed = true;
      ctx.setTimer('widen', t.thriftyWaitMs, { type: 'widen' });
    }
  };

  const rankAcceptors = (): void => {
    fastest = props.acceptors.map((_, i) => i).sort((a, b) => ackMs[a]! - ackMs[b]! || a - b).slice(0, quorum);
  };
  rankAcceptors();

  const inflightBytes = (): number => {
    let n = 0;
    for (const e of inflight.values()) n += e.bytes;
    return n;
  };

  const flush = (): void => {
    flushScheduled = false;
    let bytes = inflightBytes();
    while (role === 'leader' && queue.length > 0 && inflight.size < t.maxInflightSlots && (inflight.size === 0 || bytes < t.maxInflightBytes)) {
      const batch = takeWithin(queue.slice(0, t.maxBatch), t.maxBatchBytes, (q) => q.bytes);
      queue.splice(0, batch.length);
      const batchBytes = batch.reduce((n, q) => n + q.bytes, 0);
      bytes += batchBytes;
      propose(
        nextSlot++,
        { cmds: batch.map((q) => q.cmd), time: ctx.now() },
        batch.map((q) => q.handle),
        batchBytes,
      );
    }
  };

  /**
   * Slots before `before` are chosen and live on in a learner's snapshot (acceptors truncate only
   * behind one): stop proposing them. Their clients are told to retry; a command that did make it
   * into a chosen slot is recognised by its (client, seq) and answered with its first result.
   */
  const skipCompacted = (before: number): void => {
    if (before - 1 <= commitIndex) return;
    for (const [slot, e] of inflight) {
      if (slot >= before) continue;
      inflight.delete(slot);
      for (const h of e.handles) if (h) ctx.replyTo(h, { ok: false, reason: 'slot compacted before it was chosen here; retry' });
    }
    advanceCommitTo(before - 1);
    nextSlot = Math.max(nextSlot, commitIndex + 1);
    flush();
  };

  const chosen = (slot: number, e: Inflight): void => {
    inflight.delete(slot);
    chosenLog.set(slot, e.value);
    if (chosenLog.size > t.leaderLogSize) chosenLog.delete(chosenLog.keys().next().value!);
    if (slot > commitIndex) chosenAhead.add(slot);
    while (chosenAhead.delete(commitIndex + 1)) commitIndex++;
    const answerer = responder();
    for (const l of props.learners) {
      const answers = (answerer === undefined || l.equals(answerer)) && e.handles.some((h) => h) ? e.handles : undefined;
      ctx.send(l, answers ? { type: 'commit', slot, value: e.value, handles: answers } : { type: 'commit', slot, value: e.value });
    }
  };

  const heartbeat = (): void => {
    // An acceptor silent for a whole round (down, cut off) drops out of the thrifty majority.
    const last = hbRounds.get(hbRound);
    if (last) props.acceptors.forEach((_, i) => last.acks.has(i) || (ackMs[i] = Math.max(ackMs[i]!, t.retransmitMs)));
    rankAcceptors();
    hbRound++;
    hbRounds.set(hbRound, { sentAt: ctx.now(), acks: new Set() });
    hbRounds.delete(hbRound - 8);
    for (const a of props.acceptors) ctx.send(a, { type: 'heartbeat', ballot, round: hbRound, proposer: self });
    for (const p of others) ctx.send(p, { type: 'leader', ballot, leader: self, commitIndex });
    for (const l of props.learners) ctx.send(l, { type: 'commit-index', index: commitIndex, leader: self });
    const now = ctx.now();
    for (const [slot, e] of inflight) {
      if (now - e.sentAt < t.retransmitMs) continue;
      e.sentAt = now;
      sendAccept(slot, e.value, (i) => !e.acks.has(i));
    }
    if (learnerSnapshot + 1 > truncateSent) {
      truncateSent = learnerSnapshot + 1;
      for (const a of props.acceptors) ctx.send(a, { type: 'truncate', before: truncateSent });
    }
    // A leader cut off from a majority for two lease terms gives way.
    if (now > Math.max(leaseUntil, leadingSince) + 2 * t.leaseMs) becomeFollower('lease lost', t.leaseMs + jitter(t.leaseMs));
  };

  ctx.setTimer('tick', t.heartbeatMs, { type: 'tick' }, { repeat: true });

  return (msg: ProposerMsg) => {
    if (droppedAsMalformed(ctx, msg, proposerMsgProblem)) return;
    switch (msg.type) {
      case 'propose': {
        const handle = ctx.replyHandle() ?? null;
        const bad = commandProblem(msg.cmd);
        if (bad) return ctx.reply({ ok: false, reason: `malformed command: ${bad}`, refused: 'malformed' });
        const bytes = approxBytes(msg.cmd);
        if (bytes > t.maxCommandBytes) return ctx.reply({ ok: false, reason: `command too large: about ${bytes} bytes, the limit is ${t.maxCommandBytes}`, refused: 'too-large' });
        if (role !== 'leader') return ctx.reply(notLeader('not leader'));
        if (queue.length >= MAX_QUEUED) return ctx.reply({ ok: false, reason: 'overloaded' });
        queue.push({ cmd: msg.cmd, handle, bytes });
        if (!flushScheduled) {
          // Runs after the messages already in the mailbox: they all join the same batch.
          flushScheduled = true;
          ctx.send(self, { type: 'flush' });
        }
        return;
      }
      case 'flush':
        return flush();
      case 'widen':
        return widen();
      case 'read': {
        if (role !== 'leader' || ctx.now() >= leaseUntil) return ctx.reply(notLeader(role === 'leader' ? 'lease not held' : 'not leader'));
        const handle = ctx.replyHandle();
        if (handle) for (const l of responderOrAll()) ctx.send(l, { type: 'read-at', index: nextSlot - 1, query: msg.query, handle });
        return;
      }
      case 'promise': {
        if (role !== 'candidate' || !sameBallot(msg.ballot, ballot)) return;
        promises.set(msg.acceptor, msg.accepted);
        truncatedBefore = Math.max(truncatedBefore, msg.truncatedBefore);
        if (promises.size >= quorum) becomeLeader();
        return;
      }
      case 'accepted': {
        if (role !== 'leader' || !sameBallot(msg.ballot, ballot)) return;
        const e = inflight.get(msg.slot);
        if (!e) return;
        e.acks.add(msg.acceptor);
        ackMs[msg.acceptor] = 0.8 * ackMs[msg.acceptor]! + 0.2 * (ctx.now() - e.sentAt);
        if (e.acks.size >= quorum) {
          chosen(msg.slot, e);
          flush();
        }
        return;
      }
      case 'truncated':
        if (role === 'leader' && sameBallot(msg.ballot, ballot)) skipCompacted(msg.before);
        return;
      case 'nack': {
        ctx.log.debug('nack', { ballot: msg.ballot, promised: msg.promised, acceptor: msg.acceptor, leaseMs: msg.leaseMs, role });
        round = Math.max(round, msg.promised.round);
        if (!sameBallot(msg.ballot, ballot) || role === 'follower') return;
        if (role === 'candidate' && msg.leaseMs > 0) return becomeFollower('another lease holds', msg.leaseMs + jitter(t.leaseMs));
        if (compareBallots(msg.promised, ballot) > 0) return becomeFollower('higher ballot', t.heartbeatMs + jitter(t.leaseMs));
        return;
      }
      case 'heartbeat-ack': {
        if (role !== 'leader' || !sameBallot(msg.ballot, ballot)) return;
        const r = hbRounds.get(msg.round);
        if (!r) return;
        r.acks.add(msg.acceptor);
        if (ackMs[msg.acceptor]! >= t.retransmitMs) ackMs[msg.acceptor] = t.thriftyWaitMs; // back, give it another go
        if (r.acks.size >= quorum && r.sentAt + t.leaseMs - t.driftMs > leaseUntil) {
          leaseUntil = r.sentAt + t.leaseMs - t.driftMs;
          tellSubscribers({ type: 'leading', ballot, leaseUntil });
        }
        return;
      }
      case 'leader': {
        if (leader && compareBallots(msg.ballot, leader.ballot) < 0) return;
        if (role !== 'follower' && compareBallots(msg.ballot, ballot) <= 0) return;
        if (role !== 'follower') becomeFollower('another leader', 0);
        leader = { ref: msg.leader, ballot: msg.ballot, heardAt: ctx.now() };
        round = Math.max(round, msg.ballot.round);
        commitIndex = Math.max(commitIndex, msg.commitIndex);
        electionAt = ctx.now() + t.leaseMs + t.driftMs + jitter(t.leaseMs);
        return;
      }
      case 'learner-status':
        learnerHeard.set(msg.learner, ctx.now());
        learnerSnapshot = Math.max(learnerSnapshot, msg.snapshot);
        return;
      case 'fetch': {
        if (role !== 'leader') return;
        const all: Array<[number, SlotValue]> = [];
        for (let s = msg.from; s <= commitIndex && all.length < FETCH_BATCH; s++) {
          const v = chosenLog.get(s);
          if (!v) break;
          all.push([s, v]);
        }
        const entries = takeWithin(all, t.maxReplyBytes, (e) => approxBytes(e[1]));
        if (entries.length > 0) ctx.send(msg.learner, { type: 'entries', entries });
        return;
      }
      case 'tick': {
        const now = ctx.now();
        if (role === 'leader') return heartbeat();
        if (role === 'candidate') {
          // Resend to the silent; after a lease term without a majority, try again higher.
          if (now - prepareSentAt > t.leaseMs) return becomeFollower('election timed out', jitter(t.leaseMs));
          const prepare = { type: 'prepare' as const, ballot, fromSlot: commitIndex + 1, proposer: self };
          props.acceptors.forEach((a, i) => promises.has(i) || ctx.send(a, prepare));
          return;
        }
        if (now >= electionAt) startElection();
        return;
      }
      case 'subscribe': {
        if (msg.subscriber.node !== self.node) return ctx.log.warn('subscriber refused: not on this node', { subscriber: msg.subscriber.toString() });
        if (subscribers.length >= MAX_SUBSCRIBERS) return ctx.log.warn('subscriber refused: too many', { max: MAX_SUBSCRIBERS });
        if (!subscribers.some((s) => s.equals(msg.subscriber))) subscribers.push(msg.subscriber);
        if (role === 'leader' && leaseUntil > 0) ctx.send(msg.subscriber, { type: 'leading', ballot, leaseUntil });
        return;
      }
      case 'status':
        return ctx.reply({
          id: props.id,
          role,
          ballot,
          leaseValid: role === 'leader' && ctx.now() < leaseUntil,
          nextSlot,
          commitIndex,
          inflight: inflight.size,
          queued: queue.length,
        });
      default:
        return ctx.unhandled(msg);
    }
  };
});
