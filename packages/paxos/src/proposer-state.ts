import type { ActorRef, ReplyHandle } from '@actorfs/actors';
import { ZERO_BALLOT, type Ballot } from './ballot.ts';
import { majority, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, Command, LeadershipEvent, LearnerMsg, ProposeReply, ProposerMsg, SlotValue } from './messages.ts';
import { approxBytes } from './size.ts';
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
  /**
   * One message to several actors (encoded once for all of them: a slot's value is the bulk).
   * Urgent: it leaves when the host's turn of it ends, before its node's other actors run (an
   * Accept, ahead of the own acceptor's write, which the remote acceptors' syncs need not wait for).
   */
  | { type: 'send-many'; to: ActorRef<never>[]; msg: unknown; urgent?: true }
  /** Send once every write before it is durable. */
  | { type: 'send-durable'; to: ActorRef<never>; msg: unknown }
  | { type: 'reply'; handle: ReplyHandle; reply: ProposeReply | ProposeReply[] }
  /** Deliver msg back to the core after ms (one timer per name: a new one replaces the old). */
  | { type: 'timer'; name: string; ms: number; msg: ProposerInput }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; text: string; data?: Record<string, unknown> };

/** A propose-batch on its way to a slot: parts[i] answers its cmds[i] (a slot position once placed). */
export interface PendingBatch {
  handle: ReplyHandle | null;
  parts: Array<number | ProposeReply>;
}

/** A queued command; `part` places it in its propose-batch (whose commands stay together, in order). */
export interface Queued {
  cmd: Command;
  handle: ReplyHandle | null;
  bytes: number;
  part?: { batch: PendingBatch; index: number };
}

/** A batch's part for a command queued but not yet in a slot. */
const UNPLACED = -1;

/**
 * What every role of a proposer shares: its ballot and round, what it knows of the leader, the
 * chosen log and commit index, what it measured of acceptors and learners, and the effects of the
 * current step; with the rules every role applies alike (admitting commands, refusing them,
 * choosing who answers clients). The roles (proposer-follower, -candidate, -leader) hold the rest.
 */
export class ProposerState {
  readonly quorum: number;
  /** Highest round seen or used; persisted before a ballot with it is used. */
  round: number;
  ballot: Ballot = ZERO_BALLOT;
  leader: { ref: ActorRef<ProposerMsg>; ballot: Ballot; heardAt: number } | undefined;
  electionAt: number;
  /** Elections this proposer lost in a row (timed out or outbid); reset when it leads or hears a leader. */
  lostElections = 0;
  commitIndex = 0;
  readonly chosenAhead = new Set<number>();
  readonly chosenLog = new Map<number, SlotValue>();
  readonly learnerHeard = new Map<number, number>();
  learnerSnapshot = 0;
  truncateSent = 0;
  /** Smoothed accept-to-accepted time per acceptor; the local one starts out fastest. */
  readonly ackMs: number[];
  /** Smoothed propose-to-chosen time of this proposer's slots (bounds batchLingerMs); -1 before the first. */
  commitMs = -1;
  fastest: number[] = [];
  /** The index of the acceptor on this proposer's node; -1 if none. */
  private readonly own: number;
  readonly subscribers: ActorRef<LeadershipEvent>[] = [];
  now = 0;
  out: ProposerEffect[] = [];

  constructor(
    readonly peers: ProposerPeers,
    readonly t: PaxosTiming,
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

  // ---- commands ----

  /** A propose's command, queueable; or undefined once it is refused for good. */
  admitPropose(input: Extract<ProposerInput, { type: 'propose' }>): Queued[] | undefined {
    const admitted = this.admit(input.cmd);
    if ('refused' in admitted) return void this.reply(input.handle, admitted.refused);
    return [{ cmd: input.cmd, handle: input.handle, bytes: admitted.bytes }];
  }

  /**
   * A propose-batch's admitted commands, queueable together (they share a slot), the batch
   * answered in one reply once they are; undefined once the whole batch is answered.
   */
  admitBatch(input: Extract<ProposerInput, { type: 'propose-batch' }>): Queued[] | undefined {
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
    if (items.length === 0) return void this.reply(input.handle, batch.parts as ProposeReply[]);
    if (items.length > this.t.maxBatch || bytes > this.t.maxBatchBytes) {
      const reason = `batch too large: ${items.length} commands of about ${bytes} bytes; the limits are ${this.t.maxBatch} commands and ${this.t.maxBatchBytes} bytes`;
      return void this.refuseQueued(items, { ok: false, reason, refused: 'too-large', batchBounds: { maxCommands: this.t.maxBatch, maxBytes: this.t.maxBatchBytes } });
    }
    return items;
  }

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

  /** A follower's or candidate's answer to a propose or propose-batch: checked, then refused as not leading. */
  refuseProposal(input: Extract<ProposerInput, { type: 'propose' | 'propose-batch' }>): void {
    const items = input.type === 'propose' ? this.admitPropose(input) : this.admitBatch(input);
    if (items) this.refuseQueued(items, this.notLeader('not leader'));
  }

  /** Answers queued commands with `reply`; a propose-batch's (all queued together) in its one reply. */
  refuseQueued(queue: readonly Queued[], reply: ProposeReply): void {
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

  /**
   * A refusal, naming the leader only while it is likely alive (heard from within a lease term);
   * `maybeProposed` for a command that may already be in an accept.
   */
  notLeader(reason: string, maybeProposed = false): ProposeReply {
    const l = this.leader;
    const hint = l && !l.ref.equals(this.peers.self) && this.now - l.heardAt <= this.t.leaseMs ? { leader: l.ref } : {};
    return { ok: false, reason, ...hint, ...(maybeProposed ? { maybeProposed: true as const } : {}) };
  }

  // ---- the log ----

  /** Every slot up to index is chosen (known from elsewhere: snapshots, truncation). */
  advanceCommitTo(index: number): void {
    if (index <= this.commitIndex) return;
    this.commitIndex = index;
    for (const s of [...this.chosenAhead]) if (s <= this.commitIndex) this.chosenAhead.delete(s);
    while (this.chosenAhead.delete(this.commitIndex + 1)) this.commitIndex++;
  }

  prepare(): Extract<AcceptorMsg, { type: 'prepare' }> {
    return { type: 'prepare', ballot: this.ballot, fromSlot: this.commitIndex + 1, proposer: this.peers.self };
  }

  // ---- peers ----

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

  responderOrAll(): ActorRef<LearnerMsg>[] {
    const r = this.responder();
    return r ? [r] : this.peers.learners;
  }

  rankAcceptors(): void {
    const ranked = this.peers.acceptors.map((_, i) => i).sort((a, b) => this.ackMs[a]! - this.ackMs[b]! || a - b);
    // The own acceptor goes first while it answers: its accept costs no hop, though its measured
    // time (behind this thread's own turns under load) can rank it behind the remotes.
    if (this.own >= 0 && this.ackMs[this.own]! < this.t.retransmitMs) ranked.unshift(...ranked.splice(ranked.indexOf(this.own), 1));
    this.fastest = ranked.slice(0, this.quorum);
  }

  jitter(spanMs: number): number {
    return this.random() * spanMs;
  }

  // ---- effects ----

  tell(event: LeadershipEvent): void {
    for (const s of this.subscribers) this.send(s, event);
  }

  send<M>(to: ActorRef<M>, msg: M): void {
    this.out.push({ type: 'send', to: to as ActorRef<never>, msg });
  }

  sendMany<M>(to: ActorRef<M>[], msg: M, urgent = false): void {
    if (to.length > 0) this.out.push({ type: 'send-many', to: to as ActorRef<never>[], msg, ...(urgent ? { urgent } : {}) });
  }

  reply(handle: ReplyHandle | null, reply: ProposeReply | ProposeReply[]): void {
    if (handle) this.out.push({ type: 'reply', handle, reply });
  }

  log(level: 'debug' | 'info' | 'warn', text: string, data?: Record<string, unknown>): void {
    this.out.push({ type: 'log', level, text, ...(data ? { data } : {}) });
  }
}

/** What a role asks of the core that hosts it: a change of role, and the handling every role shares. */
export interface RoleHost {
  becomeFollower(reason: string, waitMs: number): void;
  /** Messages every role handles alike, and those a role ignores. */
  stepAny(input: ProposerInput): void;
}
