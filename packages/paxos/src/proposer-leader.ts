import type { ActorRef, ReplyHandle } from '@actorfs/actors';
import { highestBallotPerSlot, sameBallot, type Ballot } from './ballot.ts';
import { FETCH_BATCH } from './config.ts';
import type { BatchAnswer, LearnerMsg, ProposeReply, ProposerMsg, SlotValue } from './messages.ts';
import type { PendingBatch, ProposerInput, ProposerState, Queued, RoleHost } from './proposer-state.ts';
import { approxBytes, takeWithin } from './size.ts';
import { encodeSlotValue } from './slot-bytes.ts';

interface Inflight {
  value: SlotValue;
  /** The value as every accept of the slot carries it (encoded once). */
  encoded: Uint8Array;
  /** approxBytes of the value's commands. */
  bytes: number;
  handles: Array<ReplyHandle | null>;
  /** The propose-batches whose commands the slot holds (null in handles for those). */
  batches: PendingBatch[];
  acks: Set<number>;
  sentAt: number;
  /** Sent to every acceptor (not only the thrifty majority). */
  wide: boolean;
}

/** Queued commands beyond this are refused (the client backs off and retries). */
const MAX_QUEUED = 100_000;
/** Heartbeat rounds whose acknowledgements are still counted. */
const HEARTBEAT_ROUNDS_KEPT = 8;
/** A leader cut off from a majority for this many lease terms gives way. */
const LEADER_GIVES_UP_AFTER_LEASES = 2;
/** Weight of the newest sample in an acceptor's smoothed accept-to-accepted time. */
const ACK_SMOOTHING = 0.2;

/**
 * A leader's phase 2: it won phase 1 for every slot from its first open one on, and now batches
 * queued commands into slots with several slots in flight, each sent to the acceptors that answer
 * fastest (thrifty) and widened to all if they do not answer in time. Its leadership is a lease
 * acceptors grant and heartbeats renew; while it holds, the leader serves reads.
 */
export class LeaderRole {
  readonly kind = 'leader';
  nextSlot = 0;
  readonly inflight = new Map<number, Inflight>();
  queue: Queued[] = [];
  private flushScheduled = false;
  /** The next slot waits for this many more commands, until then at the latest (batchLingerMs). */
  private linger: { awaiting: number; until: number } | null = null;
  private widenArmed = false;
  /** The lease holds until then (this node's clock); 0 until a majority acknowledges a heartbeat. */
  leaseUntil = 0;
  private readonly since: number;
  private hbRound = 0;
  private readonly hbRounds = new Map<number, { sentAt: number; acks: Set<number> }>();

  /**
   * Leads from the promises of a majority (each acceptor's accepted slots): re-proposes what may
   * have been chosen, fills the gaps with no-ops, and starts heartbeats (the lease is earned by the
   * first round a majority acknowledges).
   */
  constructor(
    private readonly s: ProposerState,
    private readonly host: RoleHost,
    promises: Iterable<Array<[number, Ballot, SlotValue]>>,
    truncatedBefore: number,
  ) {
    this.since = s.now;
    s.lostElections = 0;
    s.leader = { ref: s.peers.self, ballot: s.ballot, heardAt: s.now };
    // Slots below every acceptor's truncation point were chosen and live on in snapshots.
    s.advanceCommitTo(truncatedBefore - 1);
    const start = s.commitIndex + 1;
    const best = highestBallotPerSlot<SlotValue>(promises, start);
    const last = Math.max(s.commitIndex, ...best.keys());
    for (let slot = start; slot <= last; slot++) {
      if (!s.chosenAhead.has(slot)) this.propose(slot, best.get(slot) ?? { cmds: [], time: s.now }, []);
    }
    this.nextSlot = last + 1;
    s.log('info', 'leading', { ballot: s.ballot, from: start, recovered: last - start + 1 });
  }

  /** The first heartbeat round and the queue's first slots (once this role is in place). */
  start(): void {
    this.heartbeat();
    this.flush();
  }

  step(input: ProposerInput): void {
    switch (input.type) {
      case 'propose':
        return this.queueOrRefuse(this.s.admitPropose(input));
      case 'propose-batch':
        return this.queueOrRefuse(this.s.admitBatch(input));
      case 'flush':
        return this.flush();
      case 'linger-over':
        return this.lingerOver();
      case 'widen':
        return this.widen();
      case 'read':
        return this.read(input.query, input.handle);
      case 'accepted':
        return this.accepted(input);
      case 'heartbeat-ack':
        return this.heartbeatAck(input);
      case 'truncated':
        if (sameBallot(input.ballot, this.s.ballot)) this.skipCompacted(input.before);
        return;
      case 'fetch':
        return this.serveFetch(input.from, input.learner);
      case 'tick':
        return this.heartbeat();
      default:
        return this.host.stepAny(input);
    }
  }

  /** Stepping down: its subscribers are told, and every client waiting on it refused. */
  stepDown(reason: string): void {
    const s = this.s;
    s.log('info', 'stepping down', { reason, ballot: s.ballot });
    if (this.leaseUntil > 0) s.tell({ type: 'not-leading', ballot: s.ballot, reason });
    s.refuseQueued(this.queue, s.notLeader(reason));
    for (const e of this.inflight.values()) this.refuseInflight(e, s.notLeader(reason, true));
  }

  private read(query: unknown, handle: ReplyHandle | null): void {
    const s = this.s;
    if (s.now >= this.leaseUntil) return s.reply(handle, s.notLeader('lease not held'));
    if (handle) for (const learner of s.responderOrAll()) s.send(learner, { type: 'read-at', index: this.nextSlot - 1, query, handle });
  }

  // ---- the queue and slots ----

  private queueOrRefuse(items: Queued[] | undefined): void {
    if (!items) return;
    const s = this.s;
    if (this.queue.length + items.length > MAX_QUEUED) return s.refuseQueued(items, { ok: false, reason: 'overloaded' });
    this.queue.push(...items);
    if (this.linger && (this.linger.awaiting -= items.length) > 0 && s.now < this.linger.until && this.queue.length < s.t.maxBatch) return;
    this.linger = null;
    if (!this.flushScheduled) {
      // Runs after the messages already in the mailbox: they all join the same batch.
      this.flushScheduled = true;
      s.send(s.peers.self, { type: 'flush' });
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const s = this.s;
    if (this.linger && s.now < this.linger.until) return; // the last awaited command or linger-over flushes
    this.linger = null;
    let bytes = 0;
    for (const e of this.inflight.values()) bytes += e.bytes;
    const t = s.t;
    while (this.queue.length > 0 && this.inflight.size < t.maxInflightSlots && (this.inflight.size === 0 || bytes < t.maxInflightBytes)) {
      const batch = wholeBatches(this.queue, takeWithin(this.queue.slice(0, t.maxBatch), t.maxBatchBytes, (q) => q.bytes).length);
      this.queue.splice(0, batch.length);
      const batchBytes = batch.reduce((n, q) => n + q.bytes, 0);
      bytes += batchBytes;
      this.propose(this.nextSlot++, { cmds: batch.map((q) => q.cmd), time: s.now }, batch.map((q) => q.handle), batchBytes, placeBatches(batch));
    }
  }

  private propose(slot: number, value: SlotValue, handles: Array<ReplyHandle | null>, bytes = approxBytes(value), batches: PendingBatch[] = []): void {
    const s = this.s;
    const wide = !s.t.thrifty;
    const encoded = encodeSlotValue(value);
    this.inflight.set(slot, { value, encoded, bytes, handles, batches, acks: new Set(), sentAt: s.now, wide });
    if (wide) return this.sendAccept(slot, encoded, () => true);
    this.sendAccept(slot, encoded, (i) => s.fastest.includes(i));
    this.armWiden();
  }

  private armWiden(): void {
    if (this.widenArmed) return;
    this.widenArmed = true;
    this.s.out.push({ type: 'timer', name: 'widen', ms: this.s.t.thriftyWaitMs, msg: { type: 'widen' } });
  }

  /** Slots the thrifty majority has not chosen in time go to every acceptor. */
  private widen(): void {
    const s = this.s;
    this.widenArmed = false;
    let waiting = false;
    for (const [slot, e] of this.inflight) {
      if (e.wide) continue;
      if (s.now - e.sentAt < s.t.thriftyWaitMs) {
        waiting = true;
        continue;
      }
      e.wide = true;
      this.sendAccept(slot, e.encoded, (i) => !s.fastest.includes(i));
    }
    if (waiting) this.armWiden();
  }

  /** Sends slot's Accept to the acceptors `to` picks (by index). */
  private sendAccept(slot: number, value: Uint8Array, to: (acceptor: number) => boolean): void {
    const s = this.s;
    const accept = { type: 'accept' as const, ballot: s.ballot, slot, value, proposer: s.peers.self };
    s.sendMany(s.peers.acceptors.filter((_, i) => to(i)), accept, true);
  }

  private accepted(msg: Extract<ProposerMsg, { type: 'accepted' }>): void {
    const s = this.s;
    if (!sameBallot(msg.ballot, s.ballot)) return;
    const e = this.inflight.get(msg.slot);
    if (!e) return;
    e.acks.add(msg.acceptor);
    s.ackMs[msg.acceptor] = (1 - ACK_SMOOTHING) * s.ackMs[msg.acceptor]! + ACK_SMOOTHING * (s.now - e.sentAt);
    if (e.acks.size < s.quorum) return;
    const took = s.now - e.sentAt;
    s.commitMs = s.commitMs < 0 ? took : (1 - ACK_SMOOTHING) * s.commitMs + ACK_SMOOTHING * took;
    this.chosen(msg.slot, e);
    this.lingerAfter(e);
    this.flush();
  }

  /**
   * See PaxosTiming.batchLingerMs: with every slot in flight before, the next waits for the commands
   * this one's answers bring. Only after a slot of two or more commands (one client's next command
   * starts the slot anyway), and no longer than a slot takes to be chosen: past that, sending at once
   * and the latecomers in the slot after would not have cost them more.
   */
  private lingerAfter(e: Inflight): void {
    const s = this.s;
    const answered = e.handles.length;
    if (s.t.batchLingerMs === 0 || answered < 2 || this.inflight.size + 1 < s.t.maxInflightSlots || this.queue.length >= s.t.maxBatch) return;
    const ms = Math.min(s.t.batchLingerMs, Math.ceil(s.commitMs));
    this.linger = { awaiting: answered, until: s.now + ms };
    s.out.push({ type: 'timer', name: 'linger', ms, msg: { type: 'linger-over' } });
  }

  private lingerOver(): void {
    if (!this.linger) return; // stale: the awaited commands came
    const left = this.linger.until - this.s.now;
    // A timer may fire a little before this clock says it is due.
    if (left > 0) this.s.out.push({ type: 'timer', name: 'linger', ms: left, msg: { type: 'linger-over' } });
    else this.flush();
  }

  private chosen(slot: number, e: Inflight): void {
    const s = this.s;
    this.inflight.delete(slot);
    s.chosenLog.set(slot, e.value);
    if (s.chosenLog.size > s.t.leaderLogSize) s.chosenLog.delete(s.chosenLog.keys().next().value!);
    if (slot > s.commitIndex) s.chosenAhead.add(slot);
    while (s.chosenAhead.delete(s.commitIndex + 1)) s.commitIndex++;
    // The learner that answers the clients gets their handles; the others, one message between them.
    const batches = e.batches.flatMap((b): BatchAnswer[] => (b.handle ? [{ handle: b.handle, parts: b.parts }] : []));
    const answering = e.handles.some((h) => h) || batches.length > 0 ? s.responderOrAll() : [];
    const answers = batches.length > 0 ? { handles: e.handles, batches } : { handles: e.handles };
    for (const learner of answering) s.send(learner, { type: 'commit', slot, value: e.value, ...answers });
    s.sendMany(s.peers.learners.filter((learner) => !answering.includes(learner)), { type: 'commit-encoded', slot, value: e.encoded });
  }

  /**
   * Slots before `before` are chosen and live on in a learner's snapshot (acceptors truncate only
   * behind one): stop proposing them. Their clients are told to retry; a command that did make it
   * into a chosen slot is recognised by its (session, seq) and answered with its first result.
   */
  private skipCompacted(before: number): void {
    const s = this.s;
    if (before - 1 <= s.commitIndex) return;
    for (const [slot, e] of this.inflight) {
      if (slot >= before) continue;
      this.inflight.delete(slot);
      this.refuseInflight(e, { ok: false, reason: 'slot compacted before it was chosen here; retry', maybeProposed: true });
    }
    s.advanceCommitTo(before - 1);
    this.nextSlot = Math.max(this.nextSlot, s.commitIndex + 1);
    this.flush();
  }

  /** Answers every client of an in-flight slot with `reply`. */
  private refuseInflight(e: Inflight, reply: ProposeReply): void {
    for (const h of e.handles) this.s.reply(h, reply);
    for (const b of e.batches) this.s.reply(b.handle, b.parts.map((p) => (typeof p === 'number' ? reply : p)));
  }

  /** Log entries from `from` on that the leader still holds, within the reply limits. */
  private serveFetch(from: number, learner: ActorRef<LearnerMsg>): void {
    const s = this.s;
    const all: Array<[number, SlotValue]> = [];
    for (let slot = from; slot <= s.commitIndex && all.length < FETCH_BATCH; slot++) {
      const v = s.chosenLog.get(slot);
      if (!v) break;
      all.push([slot, v]);
    }
    const entries = takeWithin(all, s.t.maxReplyBytes, (e) => approxBytes(e[1]));
    if (entries.length > 0) s.send(learner, { type: 'entries', entries });
  }

  // ---- lease and heartbeats ----

  private heartbeat(): void {
    const s = this.s;
    // An acceptor silent for a whole round (down, cut off) drops out of the thrifty majority.
    const last = this.hbRounds.get(this.hbRound);
    if (last) s.peers.acceptors.forEach((_, i) => last.acks.has(i) || (s.ackMs[i] = Math.max(s.ackMs[i]!, s.t.retransmitMs)));
    s.rankAcceptors();
    this.hbRound++;
    this.hbRounds.set(this.hbRound, { sentAt: s.now, acks: new Set() });
    this.hbRounds.delete(this.hbRound - HEARTBEAT_ROUNDS_KEPT);
    const self = s.peers.self;
    s.sendMany(s.peers.acceptors, { type: 'heartbeat', ballot: s.ballot, round: this.hbRound, proposer: self });
    const others = s.peers.proposers.filter((p) => !p.equals(self));
    s.sendMany(others, { type: 'leader', ballot: s.ballot, leader: self, commitIndex: s.commitIndex });
    s.sendMany(s.peers.learners, { type: 'commit-index', index: s.commitIndex, leader: self });
    this.retransmit();
    if (s.learnerSnapshot + 1 > s.truncateSent) {
      s.truncateSent = s.learnerSnapshot + 1;
      s.sendMany(s.peers.acceptors, { type: 'truncate', before: s.truncateSent });
    }
    if (s.now > Math.max(this.leaseUntil, this.since) + LEADER_GIVES_UP_AFTER_LEASES * s.t.leaseMs) {
      this.host.becomeFollower('lease lost', s.t.leaseMs + s.jitter(s.t.leaseMs));
    }
  }

  /** Accepts a majority has not answered within retransmitMs go again to the acceptors that have not. */
  private retransmit(): void {
    const s = this.s;
    for (const [slot, e] of this.inflight) {
      if (s.now - e.sentAt < s.t.retransmitMs) continue;
      e.sentAt = s.now;
      this.sendAccept(slot, e.encoded, (i) => !e.acks.has(i));
    }
  }

  private heartbeatAck(msg: Extract<ProposerMsg, { type: 'heartbeat-ack' }>): void {
    const s = this.s;
    if (!sameBallot(msg.ballot, s.ballot)) return;
    const r = this.hbRounds.get(msg.round);
    if (!r) return;
    r.acks.add(msg.acceptor);
    if (s.ackMs[msg.acceptor]! >= s.t.retransmitMs) s.ackMs[msg.acceptor] = s.t.thriftyWaitMs; // back, give it another go
    const until = r.sentAt + s.t.leaseMs - s.t.driftMs;
    if (r.acks.size >= s.quorum && until > this.leaseUntil) {
      this.leaseUntil = until;
      s.tell({ type: 'leading', ballot: s.ballot, leaseUntil: until });
    }
  }
}

/**
 * The first n queued commands, or fewer so as not to split a propose-batch across slots; at least
 * the first command and the rest of its batch (within the bounds: they were checked as it came).
 */
function wholeBatches(queue: readonly Queued[], n: number): Queued[] {
  const splits = (i: number): boolean => i > 0 && i < queue.length && queue[i]!.part !== undefined && queue[i]!.part!.batch === queue[i - 1]!.part?.batch;
  let end = n;
  while (end > 0 && splits(end)) end--;
  if (end === 0) for (end = 1; splits(end); ) end++;
  return queue.slice(0, end);
}

/** Records where in the slot each propose-batch's commands went; the batches the slot holds. */
function placeBatches(slot: readonly Queued[]): PendingBatch[] {
  const batches: PendingBatch[] = [];
  slot.forEach((q, position) => {
    if (!q.part) return;
    q.part.batch.parts[q.part.index] = position;
    if (batches.at(-1) !== q.part.batch) batches.push(q.part.batch);
  });
  return batches;
}
