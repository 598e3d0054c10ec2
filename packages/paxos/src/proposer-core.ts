import type { ActorRef, ReplyHandle } from '@actorfs/actors';
import { compareBallots, highestBallotPerSlot, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.ts';
import { FETCH_BATCH, majority, MAX_SUBSCRIBERS, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, BatchAnswer, Command, LeadershipEvent, LearnerMsg, ProposeReply, ProposerMsg, ProposerStatus, SlotValue } from './messages.ts';
import { approxBytes, takeWithin } from './size.ts';
import { commandProblem } from './validate.ts';

/** Who the core talks to, and what it is. Refs only: the core sends nothing itself. */
export interface ProposerPeers {
  /** Unique among the group's proposers: it breaks ties between ballots of the same round. */
  id: number;
  self: ActorRef<ProposerMsg>;
  acceptors: ActorRef<AcceptorMsg>[];
  learners: ActorRef<LearnerMsg>[];
  /** Every proposer of the group, this one included. */
  proposers: ActorRef<ProposerMsg>[];
  /** The machine's check of an op (a reason it is bad, or undefined): a bad op never takes a slot. */
  validate?: ((op: unknown) => string | undefined) | undefined;
}

/** What the host feeds the core: the protocol messages, with a client's reply handle beside its request. */
export type ProposerInput =
  | Exclude<ProposerMsg, { type: 'propose' | 'propose-batch' | 'read' | 'status' | 'trace' }>
  | { type: 'propose'; cmd: Command; handle: ReplyHandle | null }
  | { type: 'propose-batch'; cmds: Command[]; handle: ReplyHandle | null }
  | { type: 'read'; query: unknown; handle: ReplyHandle | null };

/** What the core asks its host to do, in order. */
export type ProposerEffect =
  /** Write to durable storage (before any `send-durable` after it goes out). */
  | { type: 'persist'; key: 'round'; value: number }
  | { type: 'send'; to: ActorRef<never>; msg: unknown }
  /** One message to several actors (encoded once for all of them: a slot's value is the bulk). */
  | { type: 'send-many'; to: ActorRef<never>[]; msg: unknown }
  /** Send once every write before it is durable. */
  | { type: 'send-durable'; to: ActorRef<never>; msg: unknown }
  | { type: 'reply'; handle: ReplyHandle; reply: ProposeReply | ProposeReply[] }
  /** Deliver msg back to the core after ms (one timer per name: a new one replaces the old). */
  | { type: 'timer'; name: string; ms: number; msg: ProposerInput }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; text: string; data?: Record<string, unknown> };

type Handles = Array<ReplyHandle | null>;
/** A propose-batch on its way to a slot: parts[i] answers its cmds[i] (a slot position once placed). */
interface PendingBatch {
  handle: ReplyHandle | null;
  parts: Array<number | ProposeReply>;
}
/** A queued command; `part` places it in its propose-batch (whose commands stay together, in order). */
interface Queued {
  cmd: Command;
  handle: ReplyHandle | null;
  bytes: number;
  part?: { batch: PendingBatch; index: number };
}
interface Inflight {
  value: SlotValue;
  /** approxBytes of the value's commands. */
  bytes: number;
  handles: Handles;
  /** The propose-batches whose commands the slot holds (null in handles for those). */
  batches: PendingBatch[];
  acks: Set<number>;
  sentAt: number;
  /** Sent to every acceptor (not only the thrifty majority). */
  wide: boolean;
}

/** A candidate's phase 1: the promises so far. */
interface Candidate {
  kind: 'candidate';
  /** Whole promises: every piece arrived. */
  promises: Map<number, Array<[number, Ballot, SlotValue]>>;
  /** Promises still arriving in pieces: the slots so far and the slot the next piece starts at. */
  partial: Map<number, { accepted: Array<[number, Ballot, SlotValue]>; next: number }>;
  /** Every acceptor that promised has compacted the slots before this. */
  truncatedBefore: number;
  sentAt: number;
}

/** A leader's phase 2: slots in flight, queued commands, its lease. */
interface Leader {
  kind: 'leader';
  nextSlot: number;
  inflight: Map<number, Inflight>;
  queue: Queued[];
  flushScheduled: boolean;
  /** The next slot waits for this many more commands, until then at the latest (batchLingerMs). */
  linger: { awaiting: number; until: number } | null;
  widenArmed: boolean;
  /** The lease holds until then (this node's clock); 0 until a majority acknowledges a heartbeat. */
  leaseUntil: number;
  since: number;
  hbRound: number;
  hbRounds: Map<number, { sentAt: number; acks: Set<number> }>;
}

type Role = { kind: 'follower' } | Candidate | Leader;

/** A batch's part for a command queued but not yet in a slot. */
const UNPLACED = -1;
/** Queued commands beyond this are refused (the client backs off and retries). */
const MAX_QUEUED = 100_000;
/** Heartbeat rounds whose acknowledgements are still counted. */
const HEARTBEAT_ROUNDS_KEPT = 8;
/** A leader cut off from a majority for this many lease terms gives way. */
const LEADER_GIVES_UP_AFTER_LEASES = 2;
/** Weight of the newest sample in an acceptor's smoothed accept-to-accepted time. */
const ACK_SMOOTHING = 0.2;
/** A candidate that lost this many elections in a row warns why (and again every this many). */
const LOST_ELECTIONS_WARN = 5;

/**
 * The proposer's protocol as a pure state machine, in the style of etcd's raft: `step(input, now)`
 * returns effects (messages, storage writes, replies, timers) and does no I/O; the Proposer actor
 * carries them out, and another actor can host a core of its own. Follower, candidate and leader
 * are separate behaviours over the state they share (the commit index, the chosen log, what it
 * knows of the other roles).
 *
 * A leader wins phase 1 once for every slot from its first open one on, then runs only phase 2,
 * batching queued commands into slots with several slots in flight, each sent to the acceptors
 * that answer fastest (thrifty) and widened to all if they do not answer in time. Its leadership
 * is a lease acceptors grant and heartbeats renew; while it holds, the leader serves reads.
 * Followers wait out the lease (plus a drift margin and a random backoff) before phase 1.
 */
export class ProposerCore {
  private readonly quorum: number;
  private role: Role = { kind: 'follower' };
  /** Highest round seen or used; persisted before a ballot with it is used. */
  private round: number;
  private ballot: Ballot = ZERO_BALLOT;
  private leader: { ref: ActorRef<ProposerMsg>; ballot: Ballot; heardAt: number } | undefined;
  private electionAt: number;
  /** Elections this proposer lost in a row (timed out or outbid); reset when it leads or hears a leader. */
  private lostElections = 0;
  private commitIndex = 0;
  private readonly chosenAhead = new Set<number>();
  private readonly chosenLog = new Map<number, SlotValue>();
  private readonly learnerHeard = new Map<number, number>();
  private learnerSnapshot = 0;
  private truncateSent = 0;
  /** Smoothed accept-to-accepted time per acceptor; the local one starts out fastest. */
  private readonly ackMs: number[];
  /** Smoothed propose-to-chosen time of this proposer's slots (bounds batchLingerMs); -1 before the first. */
  private commitMs = -1;
  private fastest: number[] = [];
  /** The index of the acceptor on this proposer's node; -1 if none. */
  private readonly own: number;
  private readonly subscribers: ActorRef<LeadershipEvent>[] = [];
  private now = 0;
  private out: ProposerEffect[] = [];

  constructor(
    private readonly peers: ProposerPeers,
    private readonly t: PaxosTiming,
    private readonly random: () => number,
    state: { round: number; now: number },
  ) {
    this.quorum = majority(peers.acceptors.length);
    this.round = state.round;
    this.electionAt = state.now + t.heartbeatMs + random() * t.leaseMs;
    this.own = peers.acceptors.findIndex((a) => a.node === peers.self.node);
    this.ackMs = peers.acceptors.map((a) => (a.node === peers.self.node ? 0 : 1));
    this.rankAcceptors();
  }

  step(input: ProposerInput, now: number): ProposerEffect[] {
    this.now = now;
    this.out = [];
    const role = this.role;
    switch (role.kind) {
      case 'leader':
        this.stepLeader(role, input);
        break;
      case 'candidate':
        this.stepCandidate(role, input);
        break;
      case 'follower':
        this.stepFollower(input);
        break;
      default:
        throw new Error(`unknown role ${JSON.stringify(role satisfies never)}`);
    }
    return this.out;
  }

  status(now: number): ProposerStatus {
    const r = this.role;
    return {
      id: this.peers.id,
      role: r.kind,
      ballot: this.ballot,
      leaseValid: r.kind === 'leader' && now < r.leaseUntil,
      leaseRemainingMs: r.kind === 'leader' ? Math.max(0, r.leaseUntil - now) : 0,
      nextSlot: r.kind === 'leader' ? r.nextSlot : this.commitIndex + 1,
      commitIndex: this.commitIndex,
      inflight: r.kind === 'leader' ? r.inflight.size : 0,
      queued: r.kind === 'leader' ? r.queue.length : 0,
    };
  }

  // ---- the three behaviours ----

  private stepFollower(input: ProposerInput): void {
    switch (input.type) {
      case 'tick':
        if (this.now >= this.electionAt) this.startElection();
        return;
      case 'propose':
        return this.refuseOrQueue(input, undefined);
      case 'propose-batch':
        return this.refuseOrQueueBatch(input, undefined);
      default:
        return this.stepAny(input);
    }
  }

  private stepCandidate(c: Candidate, input: ProposerInput): void {
    switch (input.type) {
      case 'promise':
        return this.promised(c, input);
      case 'tick': {
        // Resend to the silent; after a lease term without a majority, try again higher.
        if (this.now - c.sentAt > this.t.leaseMs) return this.becomeFollower('election timed out', this.jitter(this.t.leaseMs));
        const prepare = this.prepare();
        this.peers.acceptors.forEach((a, i) => {
          const part = c.partial.get(i);
          if (part) this.send(a, { type: 'prepare-more', ballot: this.ballot, fromSlot: part.next, proposer: this.peers.self });
          else if (!c.promises.has(i)) this.send(a, prepare);
        });
        return;
      }
      case 'propose':
        return this.refuseOrQueue(input, undefined);
      case 'propose-batch':
        return this.refuseOrQueueBatch(input, undefined);
      default:
        return this.stepAny(input);
    }
  }

  private stepLeader(l: Leader, input: ProposerInput): void {
    switch (input.type) {
      case 'propose':
        return this.refuseOrQueue(input, l);
      case 'propose-batch':
        return this.refuseOrQueueBatch(input, l);
      case 'flush':
        return this.flush(l);
      case 'linger-over':
        return this.lingerOver(l);
      case 'widen':
        return this.widen(l);
      case 'read':
        if (this.now >= l.leaseUntil) return this.reply(input.handle, this.notLeader('lease not held'));
        if (input.handle) for (const learner of this.responderOrAll()) this.send(learner, { type: 'read-at', index: l.nextSlot - 1, query: input.query, handle: input.handle });
        return;
      case 'accepted':
        return this.accepted(l, input);
      case 'heartbeat-ack':
        return this.heartbeatAck(l, input);
      case 'truncated':
        if (sameBallot(input.ballot, this.ballot)) this.skipCompacted(l, input.before);
        return;
      case 'fetch':
        return this.serveFetch(input.from, input.learner);
      case 'tick':
        return this.heartbeat(l);
      default:
        return this.stepAny(input);
    }
  }

  /** Messages every role handles alike, and those a role ignores. */
  private stepAny(input: ProposerInput): void {
    switch (input.type) {
      case 'read':
        return this.reply(input.handle, this.notLeader('not leader'));
      case 'nack':
        return this.nack(input);
      case 'leader':
        return this.heardLeader(input);
      case 'learner-status':
        this.learnerHeard.set(input.learner, this.now);
        this.learnerSnapshot = Math.max(this.learnerSnapshot, input.snapshot);
        return;
      case 'subscribe':
        return this.subscribe(input.subscriber);
      case 'propose':
      case 'propose-batch':
      case 'promise':
      case 'accepted':
      case 'heartbeat-ack':
      case 'truncated':
      case 'fetch':
      case 'tick':
      case 'flush':
      case 'linger-over':
      case 'widen':
        return; // for another role, or stale
      default:
        throw new Error(`unknown proposer input ${JSON.stringify(input satisfies never)}`);
    }
  }

  // ---- roles change ----

  private becomeFollower(reason: string, waitMs: number): void {
    const r = this.role;
    if (r.kind === 'leader') {
      this.log('info', 'stepping down', { reason, ballot: this.ballot });
      if (r.leaseUntil > 0) this.tell({ type: 'not-leading', ballot: this.ballot, reason });
      this.refuseQueued(r.queue, this.notLeader(reason));
      for (const e of r.inflight.values()) this.refuseInflight(e, this.notLeader(reason, true));
    } else if (r.kind === 'candidate') this.lostElection(reason);
    else this.log('debug', 'follower', { reason, waitMs });
    this.role = { kind: 'follower' };
    this.electionAt = this.now + waitMs;
  }

  /**
   * A candidate that keeps losing says why, once it has lost LOST_ELECTIONS_WARN in a row and
   * again every so often: a lease too short for a round trip plus a synced commit makes every
   * candidate time out before its promises arrive, and the group never elects anyone.
   */
  private lostElection(reason: string): void {
    this.lostElections++;
    const n = this.lostElections;
    if (n < LOST_ELECTIONS_WARN || n % LOST_ELECTIONS_WARN !== 0) return this.log('debug', 'lost an election', { reason, ballot: this.ballot });
    const why =
      reason === 'election timed out'
        ? `no majority of promises arrived within the lease (${this.t.leaseMs} ms): are a majority of acceptors reachable, and is leaseMs longer than a round trip plus a synced commit?`
        : `outbid (${reason}): another proposer holds a lease or a higher ballot`;
    this.log('warn', `lost ${n} elections in a row: ${why}`, { reason, ballot: this.ballot });
  }

  private startElection(): void {
    this.round = Math.max(this.round, this.leader?.ballot.round ?? 0) + 1;
    this.ballot = { round: this.round, id: this.peers.id };
    this.out.push({ type: 'persist', key: 'round', value: this.round });
    this.role = { kind: 'candidate', promises: new Map(), partial: new Map(), truncatedBefore: 0, sentAt: this.now };
    this.log('debug', 'starting election', { ballot: this.ballot });
    // The round is on disk before any acceptor hears of it.
    const prepare = this.prepare();
    for (const a of this.peers.acceptors) this.out.push({ type: 'send-durable', to: a as ActorRef<never>, msg: prepare });
  }

  /** A piece of a promise: asks for the next, or counts the promise once it is whole. */
  private promised(c: Candidate, msg: Extract<ProposerMsg, { type: 'promise' }>): void {
    if (!sameBallot(msg.ballot, this.ballot) || c.promises.has(msg.acceptor)) return;
    const part = c.partial.get(msg.acceptor) ?? { accepted: [], next: this.commitIndex + 1 };
    // Pieces come in order; a duplicate or a late one (of an earlier prepare) is not the one wanted.
    if (c.partial.has(msg.acceptor) ? msg.from !== part.next : msg.from > part.next) return;
    part.accepted.push(...msg.accepted);
    c.truncatedBefore = Math.max(c.truncatedBefore, msg.truncatedBefore);
    if (msg.more) {
      part.next = (msg.accepted.at(-1)?.[0] ?? msg.from) + 1;
      c.partial.set(msg.acceptor, part);
      return this.send(this.peers.acceptors[msg.acceptor]!, { type: 'prepare-more', ballot: this.ballot, fromSlot: part.next, proposer: this.peers.self });
    }
    c.partial.delete(msg.acceptor);
    c.promises.set(msg.acceptor, part.accepted);
    if (c.promises.size >= this.quorum) this.becomeLeader(c);
  }

  private becomeLeader(c: Candidate): void {
    this.lostElections = 0;
    // The lease is earned by the first heartbeat round a majority acknowledges (sent just below).
    const l: Leader = {
      kind: 'leader',
      nextSlot: 0,
      inflight: new Map(),
      queue: [],
      flushScheduled: false,
      linger: null,
      widenArmed: false,
      leaseUntil: 0,
      since: this.now,
      hbRound: 0,
      hbRounds: new Map(),
    };
    this.role = l;
    this.leader = { ref: this.peers.self, ballot: this.ballot, heardAt: this.now };
    // Slots below every acceptor's truncation point were chosen and live on in snapshots.
    this.advanceCommitTo(c.truncatedBefore - 1);
    const start = this.commitIndex + 1;
    const best = highestBallotPerSlot<SlotValue>(c.promises.values(), start);
    const last = Math.max(this.commitIndex, ...best.keys());
    // Re-propose what may have been chosen, and fill the gaps with no-ops.
    for (let slot = start; slot <= last; slot++) {
      if (!this.chosenAhead.has(slot)) this.propose(l, slot, best.get(slot) ?? { cmds: [], time: this.now }, []);
    }
    l.nextSlot = last + 1;
    this.log('info', 'leading', { ballot: this.ballot, from: start, recovered: last - start + 1 });
    this.heartbeat(l);
    this.flush(l);
  }

  // ---- phase 2 ----

  /** A command's size, or why it is refused for good (malformed, too large, invalid for the machine). */
  private admit(cmd: Command): { bytes: number } | { refused: ProposeReply } {
    const bad = commandProblem(cmd);
    if (bad) return { refused: { ok: false, reason: `malformed command: ${bad}`, refused: 'malformed' } };
    const bytes = approxBytes(cmd);
    if (bytes > this.t.maxCommandBytes) {
      return { refused: { ok: false, reason: `command too large: about ${bytes} bytes, the limit is ${this.t.maxCommandBytes}`, refused: 'too-large' } };
    }
    const invalid = cmd.type === 'op' ? this.peers.validate?.(cmd.op) : undefined;
    if (invalid !== undefined) return { refused: { ok: false, reason: `invalid op: ${invalid}`, refused: 'invalid' } };
    return { bytes };
  }

  private refuseOrQueue(input: Extract<ProposerInput, { type: 'propose' }>, l: Leader | undefined): void {
    const admitted = this.admit(input.cmd);
    if ('refused' in admitted) return this.reply(input.handle, admitted.refused);
    this.queueOrRefuse([{ cmd: input.cmd, handle: input.handle, bytes: admitted.bytes }], l);
  }

  /**
   * A propose-batch: each command admitted or refused on its own, the admitted ones queued
   * together (they share a slot), and the batch answered in one reply once they are.
   */
  private refuseOrQueueBatch(input: Extract<ProposerInput, { type: 'propose-batch' }>, l: Leader | undefined): void {
    const batch: PendingBatch = { handle: input.handle, parts: [] };
    const items: Queued[] = [];
    let bytes = 0;
    input.cmds.forEach((cmd, index) => {
      const admitted = this.admit(cmd);
      if ('refused' in admitted) return batch.parts.push(admitted.refused);
      bytes += admitted.bytes;
      items.push({ cmd, handle: null, bytes: admitted.bytes, part: { batch, index } });
      return batch.parts.push(UNPLACED);
    });
    if (items.length === 0) return this.reply(input.handle, batch.parts as ProposeReply[]);
    if (items.length > this.t.maxBatch || bytes > this.t.maxBatchBytes) {
      const reason = `batch too large: ${items.length} commands of about ${bytes} bytes; the limits are ${this.t.maxBatch} commands and ${this.t.maxBatchBytes} bytes`;
      return this.refuseQueued(items, { ok: false, reason, refused: 'too-large', batchBounds: { maxCommands: this.t.maxBatch, maxBytes: this.t.maxBatchBytes } });
    }
    this.queueOrRefuse(items, l);
  }

  private queueOrRefuse(items: Queued[], l: Leader | undefined): void {
    if (!l) return this.refuseQueued(items, this.notLeader('not leader'));
    if (l.queue.length + items.length > MAX_QUEUED) return this.refuseQueued(items, { ok: false, reason: 'overloaded' });
    l.queue.push(...items);
    if (l.linger && (l.linger.awaiting -= items.length) > 0 && this.now < l.linger.until && l.queue.length < this.t.maxBatch) return;
    l.linger = null;
    if (!l.flushScheduled) {
      // Runs after the messages already in the mailbox: they all join the same batch.
      l.flushScheduled = true;
      this.send(this.peers.self, { type: 'flush' });
    }
  }

  private flush(l: Leader): void {
    l.flushScheduled = false;
    if (l.linger && this.now < l.linger.until) return; // the last awaited command or linger-over flushes
    l.linger = null;
    let bytes = 0;
    for (const e of l.inflight.values()) bytes += e.bytes;
    const t = this.t;
    while (l.queue.length > 0 && l.inflight.size < t.maxInflightSlots && (l.inflight.size === 0 || bytes < t.maxInflightBytes)) {
      const batch = wholeBatches(l.queue, takeWithin(l.queue.slice(0, t.maxBatch), t.maxBatchBytes, (q) => q.bytes).length);
      l.queue.splice(0, batch.length);
      const batchBytes = batch.reduce((n, q) => n + q.bytes, 0);
      bytes += batchBytes;
      this.propose(l, l.nextSlot++, { cmds: batch.map((q) => q.cmd), time: this.now }, batch.map((q) => q.handle), batchBytes, placeBatches(batch));
    }
  }

  private propose(l: Leader, slot: number, value: SlotValue, handles: Handles, bytes = approxBytes(value), batches: PendingBatch[] = []): void {
    const wide = !this.t.thrifty;
    l.inflight.set(slot, { value, bytes, handles, batches, acks: new Set(), sentAt: this.now, wide });
    if (wide) return this.sendAccept(slot, value, () => true);
    this.sendAccept(slot, value, (i) => this.fastest.includes(i));
    this.armWiden(l);
  }

  private armWiden(l: Leader): void {
    if (l.widenArmed) return;
    l.widenArmed = true;
    this.out.push({ type: 'timer', name: 'widen', ms: this.t.thriftyWaitMs, msg: { type: 'widen' } });
  }

  /** Slots the thrifty majority has not chosen in time go to every acceptor. */
  private widen(l: Leader): void {
    l.widenArmed = false;
    let waiting = false;
    for (const [slot, e] of l.inflight) {
      if (e.wide) continue;
      if (this.now - e.sentAt < this.t.thriftyWaitMs) {
        waiting = true;
        continue;
      }
      e.wide = true;
      this.sendAccept(slot, e.value, (i) => !this.fastest.includes(i));
    }
    if (waiting) this.armWiden(l);
  }

  /** Sends slot's Accept to the acceptors `to` picks (by index). */
  private sendAccept(slot: number, value: SlotValue, to: (acceptor: number) => boolean): void {
    const accept = { type: 'accept' as const, ballot: this.ballot, slot, value, proposer: this.peers.self };
    this.sendMany(this.peers.acceptors.filter((_, i) => to(i)), accept);
  }

  private accepted(l: Leader, msg: Extract<ProposerMsg, { type: 'accepted' }>): void {
    if (!sameBallot(msg.ballot, this.ballot)) return;
    const e = l.inflight.get(msg.slot);
    if (!e) return;
    e.acks.add(msg.acceptor);
    this.ackMs[msg.acceptor] = (1 - ACK_SMOOTHING) * this.ackMs[msg.acceptor]! + ACK_SMOOTHING * (this.now - e.sentAt);
    if (e.acks.size < this.quorum) return;
    const took = this.now - e.sentAt;
    this.commitMs = this.commitMs < 0 ? took : (1 - ACK_SMOOTHING) * this.commitMs + ACK_SMOOTHING * took;
    this.chosen(l, msg.slot, e);
    this.lingerAfter(l, e);
    this.flush(l);
  }

  /**
   * See PaxosTiming.batchLingerMs: with every slot in flight before, the next waits for the commands
   * this one's answers bring. Only after a slot of two or more commands (one client's next command
   * starts the slot anyway), and no longer than a slot takes to be chosen: past that, sending at once
   * and the latecomers in the slot after would not have cost them more.
   */
  private lingerAfter(l: Leader, e: Inflight): void {
    const answered = e.handles.length;
    if (this.t.batchLingerMs === 0 || answered < 2 || l.inflight.size + 1 < this.t.maxInflightSlots || l.queue.length >= this.t.maxBatch) return;
    const ms = Math.min(this.t.batchLingerMs, Math.ceil(this.commitMs));
    l.linger = { awaiting: answered, until: this.now + ms };
    this.out.push({ type: 'timer', name: 'linger', ms, msg: { type: 'linger-over' } });
  }

  private lingerOver(l: Leader): void {
    if (!l.linger) return; // stale: the awaited commands came
    const left = l.linger.until - this.now;
    // A timer may fire a little before this clock says it is due.
    if (left > 0) this.out.push({ type: 'timer', name: 'linger', ms: left, msg: { type: 'linger-over' } });
    else this.flush(l);
  }

  private chosen(l: Leader, slot: number, e: Inflight): void {
    l.inflight.delete(slot);
    this.chosenLog.set(slot, e.value);
    if (this.chosenLog.size > this.t.leaderLogSize) this.chosenLog.delete(this.chosenLog.keys().next().value!);
    if (slot > this.commitIndex) this.chosenAhead.add(slot);
    while (this.chosenAhead.delete(this.commitIndex + 1)) this.commitIndex++;
    // The learner that answers the clients gets their handles; the others, one message between them.
    const batches = e.batches.flatMap((b): BatchAnswer[] => (b.handle ? [{ handle: b.handle, parts: b.parts }] : []));
    const answering = e.handles.some((h) => h) || batches.length > 0 ? this.responderOrAll() : [];
    const answers = batches.length > 0 ? { handles: e.handles, batches } : { handles: e.handles };
    for (const learner of answering) this.send(learner, { type: 'commit', slot, value: e.value, ...answers });
    this.sendMany(this.peers.learners.filter((learner) => !answering.includes(learner)), { type: 'commit', slot, value: e.value });
  }

  /**
   * Slots before `before` are chosen and live on in a learner's snapshot (acceptors truncate only
   * behind one): stop proposing them. Their clients are told to retry; a command that did make it
   * into a chosen slot is recognised by its (session, seq) and answered with its first result.
   */
  private skipCompacted(l: Leader, before: number): void {
    if (before - 1 <= this.commitIndex) return;
    for (const [slot, e] of l.inflight) {
      if (slot >= before) continue;
      l.inflight.delete(slot);
      this.refuseInflight(e, { ok: false, reason: 'slot compacted before it was chosen here; retry', maybeProposed: true });
    }
    this.advanceCommitTo(before - 1);
    l.nextSlot = Math.max(l.nextSlot, this.commitIndex + 1);
    this.flush(l);
  }

  /** Answers queued commands with `reply`; a propose-batch's (all queued together) in its one reply. */
  private refuseQueued(queue: readonly Queued[], reply: ProposeReply): void {
    const batches = new Set<PendingBatch>();
    for (const q of queue) {
      if (!q.part) this.reply(q.handle, reply);
      else {
        q.part.batch.parts[q.part.index] = reply;
        batches.add(q.part.batch);
      }
    }
    for (const b of batches) this.reply(b.handle, b.parts as ProposeReply[]);
  }

  /** Answers every client of an in-flight slot with `reply`. */
  private refuseInflight(e: Inflight, reply: ProposeReply): void {
    for (const h of e.handles) this.reply(h, reply);
    for (const b of e.batches) this.reply(b.handle, b.parts.map((p) => (typeof p === 'number' ? reply : p)));
  }

  /** Every slot up to index is chosen (known from elsewhere: snapshots, truncation). */
  private advanceCommitTo(index: number): void {
    if (index <= this.commitIndex) return;
    this.commitIndex = index;
    for (const s of [...this.chosenAhead]) if (s <= this.commitIndex) this.chosenAhead.delete(s);
    while (this.chosenAhead.delete(this.commitIndex + 1)) this.commitIndex++;
  }

  // ---- lease and heartbeats ----

  private heartbeat(l: Leader): void {
    // An acceptor silent for a whole round (down, cut off) drops out of the thrifty majority.
    const last = l.hbRounds.get(l.hbRound);
    if (last) this.peers.acceptors.forEach((_, i) => last.acks.has(i) || (this.ackMs[i] = Math.max(this.ackMs[i]!, this.t.retransmitMs)));
    this.rankAcceptors();
    l.hbRound++;
    l.hbRounds.set(l.hbRound, { sentAt: this.now, acks: new Set() });
    l.hbRounds.delete(l.hbRound - HEARTBEAT_ROUNDS_KEPT);
    const self = this.peers.self;
    this.sendMany(this.peers.acceptors, { type: 'heartbeat', ballot: this.ballot, round: l.hbRound, proposer: self });
    const others = this.peers.proposers.filter((p) => !p.equals(self));
    this.sendMany(others, { type: 'leader', ballot: this.ballot, leader: self, commitIndex: this.commitIndex });
    this.sendMany(this.peers.learners, { type: 'commit-index', index: this.commitIndex, leader: self });
    this.retransmit(l);
    if (this.learnerSnapshot + 1 > this.truncateSent) {
      this.truncateSent = this.learnerSnapshot + 1;
      this.sendMany(this.peers.acceptors, { type: 'truncate', before: this.truncateSent });
    }
    if (this.now > Math.max(l.leaseUntil, l.since) + LEADER_GIVES_UP_AFTER_LEASES * this.t.leaseMs) {
      this.becomeFollower('lease lost', this.t.leaseMs + this.jitter(this.t.leaseMs));
    }
  }

  /** Accepts a majority has not answered within retransmitMs go again to the acceptors that have not. */
  private retransmit(l: Leader): void {
    for (const [slot, e] of l.inflight) {
      if (this.now - e.sentAt < this.t.retransmitMs) continue;
      e.sentAt = this.now;
      this.sendAccept(slot, e.value, (i) => !e.acks.has(i));
    }
  }

  private heartbeatAck(l: Leader, msg: Extract<ProposerMsg, { type: 'heartbeat-ack' }>): void {
    if (!sameBallot(msg.ballot, this.ballot)) return;
    const r = l.hbRounds.get(msg.round);
    if (!r) return;
    r.acks.add(msg.acceptor);
    if (this.ackMs[msg.acceptor]! >= this.t.retransmitMs) this.ackMs[msg.acceptor] = this.t.thriftyWaitMs; // back, give it another go
    const until = r.sentAt + this.t.leaseMs - this.t.driftMs;
    if (r.acks.size >= this.quorum && until > l.leaseUntil) {
      l.leaseUntil = until;
      this.tell({ type: 'leading', ballot: this.ballot, leaseUntil: until });
    }
  }

  // ---- what every role hears ----

  private nack(msg: Extract<ProposerMsg, { type: 'nack' }>): void {
    this.log('debug', 'nack', { ballot: msg.ballot, promised: msg.promised, acceptor: msg.acceptor, leaseMs: msg.leaseMs, role: this.role.kind });
    this.round = Math.max(this.round, msg.promised.round);
    if (!sameBallot(msg.ballot, this.ballot) || this.role.kind === 'follower') return;
    if (this.role.kind === 'candidate' && msg.leaseMs > 0) return this.becomeFollower('another lease holds', msg.leaseMs + this.jitter(this.t.leaseMs));
    if (compareBallots(msg.promised, this.ballot) > 0) this.becomeFollower('higher ballot', this.t.heartbeatMs + this.jitter(this.t.leaseMs));
  }

  private heardLeader(msg: Extract<ProposerMsg, { type: 'leader' }>): void {
    if (this.leader && compareBallots(msg.ballot, this.leader.ballot) < 0) return;
    if (this.role.kind !== 'follower') {
      if (compareBallots(msg.ballot, this.ballot) <= 0) return;
      this.becomeFollower('another leader', 0);
    }
    this.leader = { ref: msg.leader, ballot: msg.ballot, heardAt: this.now };
    this.lostElections = 0;
    this.round = Math.max(this.round, msg.ballot.round);
    this.commitIndex = Math.max(this.commitIndex, msg.commitIndex);
    this.electionAt = this.now + this.t.leaseMs + this.t.driftMs + this.jitter(this.t.leaseMs);
  }

  /** Log entries from `from` on that the leader still holds, within the reply limits. */
  private serveFetch(from: number, learner: ActorRef<LearnerMsg>): void {
    const all: Array<[number, SlotValue]> = [];
    for (let s = from; s <= this.commitIndex && all.length < FETCH_BATCH; s++) {
      const v = this.chosenLog.get(s);
      if (!v) break;
      all.push([s, v]);
    }
    const entries = takeWithin(all, this.t.maxReplyBytes, (e) => approxBytes(e[1]));
    if (entries.length > 0) this.send(learner, { type: 'entries', entries });
  }

  private subscribe(subscriber: ActorRef<LeadershipEvent>): void {
    if (subscriber.node !== this.peers.self.node) return this.log('warn', 'subscriber refused: not on this node', { subscriber: subscriber.toString() });
    if (this.subscribers.length >= MAX_SUBSCRIBERS) return this.log('warn', 'subscriber refused: too many', { max: MAX_SUBSCRIBERS });
    if (!this.subscribers.some((s) => s.equals(subscriber))) this.subscribers.push(subscriber);
    const r = this.role;
    if (r.kind === 'leader' && r.leaseUntil > 0) this.send(subscriber, { type: 'leading', ballot: this.ballot, leaseUntil: r.leaseUntil });
  }

  // ---- helpers ----

  private prepare(): Extract<AcceptorMsg, { type: 'prepare' }> {
    return { type: 'prepare', ballot: this.ballot, fromSlot: this.commitIndex + 1, proposer: this.peers.self };
  }

  /**
   * A refusal, naming the leader only while it is likely alive (heard from within a lease term);
   * `maybeProposed` for a command that may already be in an accept.
   */
  private notLeader(reason: string, maybeProposed = false): ProposeReply {
    const l = this.leader;
    const hint = l && !l.ref.equals(this.peers.self) && this.now - l.heardAt <= this.t.leaseMs ? { leader: l.ref } : {};
    return { ok: false, reason, ...hint, ...(maybeProposed ? { maybeProposed: true as const } : {}) };
  }

  /**
   * The learner that answers clients: one on this node if it is alive, else any recently heard;
   * undefined when none has been heard lately (a new leader), and then every learner answers (the
   * asker keeps the first reply), so a dead learner cannot swallow the replies.
   */
  private responder(): ActorRef<LearnerMsg> | undefined {
    const alive = (i: number): boolean => this.now - (this.learnerHeard.get(i) ?? -Infinity) <= 3 * this.t.heartbeatMs;
    const learners = this.peers.learners;
    const local = learners.findIndex((l, i) => l.node === this.peers.self.node && alive(i));
    if (local >= 0) return learners[local]!;
    const any = learners.findIndex((_, i) => alive(i));
    return any >= 0 ? learners[any]! : undefined;
  }

  private responderOrAll(): ActorRef<LearnerMsg>[] {
    const r = this.responder();
    return r ? [r] : this.peers.learners;
  }

  private rankAcceptors(): void {
    const ranked = this.peers.acceptors.map((_, i) => i).sort((a, b) => this.ackMs[a]! - this.ackMs[b]! || a - b);
    // The own acceptor goes first while it answers: its accept costs no hop, though its measured
    // time (behind this thread's own turns under load) can rank it behind the remotes.
    if (this.own >= 0 && this.ackMs[this.own]! < this.t.retransmitMs) ranked.unshift(...ranked.splice(ranked.indexOf(this.own), 1));
    this.fastest = ranked.slice(0, this.quorum);
  }

  private jitter(spanMs: number): number {
    return this.random() * spanMs;
  }

  private tell(event: LeadershipEvent): void {
    for (const s of this.subscribers) this.send(s, event);
  }

  private send<M>(to: ActorRef<M>, msg: M): void {
    this.out.push({ type: 'send', to: to as ActorRef<never>, msg });
  }

  private sendMany<M>(to: ActorRef<M>[], msg: M): void {
    if (to.length > 0) this.out.push({ type: 'send-many', to: to as ActorRef<never>[], msg });
  }

  private reply(handle: ReplyHandle | null, reply: ProposeReply | ProposeReply[]): void {
    if (handle) this.out.push({ type: 'reply', handle, reply });
  }

  private log(level: 'debug' | 'info' | 'warn', text: string, data?: Record<string, unknown>): void {
    this.out.push({ type: 'log', level, text, ...(data ? { data } : {}) });
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
