import type { ActorRef, Asks, ReplyHandle } from '@actorfs/actors';
import type { TraceStamp } from './trace.ts';
import type { Ballot } from './ballot.ts';
import type { DomainError } from './state-machine.ts';

/**
 * A client's command. `op` commands run in a session, exactly once per (session, seq); `ack` is
 * the client's low-water mark: it will never send a seq at or below it again, so the group may
 * forget those outcomes. A seq must lie within the session window above the command's own ack.
 */
export interface OpCommand {
  readonly type: 'op';
  readonly session: string;
  readonly seq: number;
  readonly ack: number;
  readonly op: unknown;
}
/** Opens a session; the result is its id (unique: it names the slot that opened it). */
export interface OpenSession {
  readonly type: 'open';
  /** A label for the client, part of the session id (for logs). */
  readonly client: string;
}
export interface CloseSession {
  readonly type: 'close';
  readonly session: string;
}
export type Command = OpCommand | OpenSession | CloseSession;

/** What one slot of the log holds: a batch of commands (empty for a no-op that fills a gap). */
export interface SlotValue {
  readonly cmds: readonly Command[];
  /** The proposing leader's clock (ms) when it made the slot: apply's meta.time. */
  readonly time: number;
}

/**
 * Why the group refuses a command for good (retrying it cannot help): malformed, too large,
 * invalid for the machine, from an unknown or expired session, a stale retry of a seq the client
 * acknowledged, or a seq beyond the session window. Except for `session` (an earlier copy may have
 * been applied before the session expired), a refused command was not applied.
 */
export type RefusalCode = 'malformed' | 'too-large' | 'invalid' | 'session' | 'stale' | 'window';

/** The group's bounds on a propose-batch (its PaxosTiming's maxBatch and maxBatchBytes, by approxBytes). */
export interface BatchBounds {
  maxCommands: number;
  maxBytes: number;
}

/** The group's answer to a command as far as sessions and the machine are concerned. */
export type SessionReply =
  | { ok: true; result: unknown }
  /** Applied: the machine refused the op with a domain error. */
  | { ok: false; error: DomainError }
  /**
   * `batchBounds`: refused (too-large) only because its propose-batch was over these bounds, not
   * queued; within them it may be sent again.
   */
  | { ok: false; refused: RefusalCode; reason: string; batchBounds?: BatchBounds }
  /**
   * Not applied (yet): try again, at `leader` if given. `maybeProposed` says the command may
   * already be in an accept (so it may yet be chosen and applied); without it, it was never
   * proposed by the one answering.
   */
  | { ok: false; reason: string; leader?: ActorRef<ProposerMsg>; maybeProposed?: true };

export type ProposeReply = SessionReply;

/**
 * The one reply to a propose-batch, as a learner or the proposer makes it: each part is the
 * position in the slot of a command whose reply goes there, or a reply already given (a command
 * the proposer refused). A batch's commands all go in one slot.
 */
export interface BatchAnswer {
  readonly handle: ReplyHandle;
  readonly parts: ReadonlyArray<number | ProposeReply>;
}

/** Events of one applied slot, to a learner's local subscribers, in slot order. */
export interface AppliedEvents {
  type: 'applied';
  slot: number;
  /** [position of the command in the slot, event]. */
  events: Array<[index: number, event: unknown]>;
}

/** To a proposer's local subscribers: it leads (with its lease deadline, on its node's clock), or it stopped. */
export type LeadershipEvent = { type: 'leading'; ballot: Ballot; leaseUntil: number } | { type: 'not-leading'; ballot: Ballot; reason: string };

// ---- acceptor ----

export type AcceptorMsg =
  | { type: 'prepare'; ballot: Ballot; fromSlot: number; proposer: ActorRef<ProposerMsg> }
  /** value: the slot's SlotValue as encodeSlotValue packed it, once, at the leader; acceptors store these bytes as they are. */
  | { type: 'accept'; ballot: Ballot; slot: number; value: Uint8Array; proposer: ActorRef<ProposerMsg> }
  | { type: 'heartbeat'; ballot: Ballot; round: number; proposer: ActorRef<ProposerMsg> }
  /** The next piece of the promise made to `ballot`: accepted slots from fromSlot on. */
  | { type: 'prepare-more'; ballot: Ballot; fromSlot: number; proposer: ActorRef<ProposerMsg> }
  | { type: 'truncate'; before: number }
  /** A learner's catch-up: the accepted entries of slots from..to (see Learner). */
  | { type: 'read-accepted'; from: number; to: number; learner: ActorRef<LearnerMsg> }
  | ({ type: 'inspect' } & Asks<AcceptorView>)
  /** The stamps kept since the last ask (none unless the group was planned with `trace`). */
  | ({ type: 'trace' } & Asks<TraceStamp[]>);

export interface AcceptorView {
  promised: Ballot;
  truncatedBefore: number;
  accepted: Array<[slot: number, ballot: Ballot, value: SlotValue]>;
}

// ---- proposer ----

export type ProposerMsg =
  | ({ type: 'propose'; cmd: Command } & Asks<ProposeReply>)
  /** Several commands in one message, answered in one reply (replies[i] for cmds[i]); within maxBatch and maxBatchBytes. */
  | ({ type: 'propose-batch'; cmds: Command[] } & Asks<ProposeReply[]>)
  | ({ type: 'read'; query: unknown } & Asks<ProposeReply>)
  /**
   * A promise with the acceptor's accepted slots from `from` on, in pieces within maxReplyBytes:
   * `more` says a piece follows (asked for with prepare-more); it counts once the last has come.
   */
  | { type: 'promise'; ballot: Ballot; acceptor: number; from: number; accepted: Array<[number, Ballot, SlotValue]>; more: boolean; truncatedBefore: number }
  | { type: 'accepted'; ballot: Ballot; acceptor: number; slot: number }
  | { type: 'nack'; ballot: Ballot; promised: Ballot; acceptor: number; leaseMs: number }
  | { type: 'heartbeat-ack'; ballot: Ballot; round: number; acceptor: number }
  /** An accept for a slot the acceptor has compacted: every slot before `before` is chosen and in a snapshot. */
  | { type: 'truncated'; ballot: Ballot; acceptor: number; before: number }
  | { type: 'leader'; ballot: Ballot; leader: ActorRef<ProposerMsg>; commitIndex: number }
  | { type: 'learner-status'; learner: number; applied: number; snapshot: number }
  | { type: 'fetch'; from: number; learner: ActorRef<LearnerMsg> }
  /** A local actor to tell of LeadershipEvents (at most MAX_SUBSCRIBERS). */
  | { type: 'subscribe'; subscriber: ActorRef<LeadershipEvent> }
  | { type: 'tick' }
  | { type: 'flush' }
  | { type: 'linger-over' }
  | { type: 'widen' }
  | ({ type: 'status' } & Asks<ProposerStatus>)
  /** The stamps kept since the last ask (none unless the group was planned with `trace`). */
  | ({ type: 'trace' } & Asks<TraceStamp[]>);

export interface ProposerStatus {
  id: number;
  role: 'follower' | 'candidate' | 'leader';
  ballot: Ballot;
  leaseValid: boolean;
  /** How long the leader's lease runs on, by its clock (0 when not held). */
  leaseRemainingMs: number;
  nextSlot: number;
  commitIndex: number;
  inflight: number;
  queued: number;
}

// ---- learner ----

export type LearnerMsg =
  /** handles[i] answers value.cmds[i], and each of batches a propose-batch (only the responding learner gets them). */
  | { type: 'commit'; slot: number; value: SlotValue; handles?: Array<ReplyHandle | null>; batches?: BatchAnswer[] }
  /**
   * A commit to a learner that answers none of the slot's clients: its value as the accepts
   * carried it (encodeSlotValue), so the leader encodes it once for the acceptors and these alike.
   */
  | { type: 'commit-encoded'; slot: number; value: Uint8Array }
  | { type: 'read-at'; index: number; query: unknown; handle: ReplyHandle }
  /** Every slot up to index is chosen. */
  | { type: 'commit-index'; index: number; leader: ActorRef<ProposerMsg> }
  | { type: 'fetch'; from: number; learner: ActorRef<LearnerMsg> }
  | { type: 'entries'; entries: Array<[number, SlotValue]> }
  /**
   * Pieces first..first+pieces.length-1 of a peer's snapshot at `index` (of `total`: the machine's
   * pieces, then the sessions'), each as its msgpack bytes. The receiver asks for the rest with snapshot-fetch.
   */
  | { type: 'snapshot-chunk'; index: number; time: number; total: number; machinePieces: number; first: number; pieces: Uint8Array[]; peer: ActorRef<LearnerMsg> }
  | { type: 'snapshot-fetch'; index: number; from: number; learner: ActorRef<LearnerMsg> }
  /** A local actor to tell of each applied slot's events (at most MAX_SUBSCRIBERS). */
  | { type: 'subscribe'; subscriber: ActorRef<AppliedEvents> }
  /** An acceptor's answer to read-accepted from..to: its accepted entries of slots from..covered (cut short to stay small). */
  | { type: 'accepted-entries'; from: number; to: number; covered: number; acceptor: number; truncatedBefore: number; entries: Array<[slot: number, ballot: Ballot, value: SlotValue]> }
  | { type: 'tick' }
  | ({ type: 'status' } & Asks<LearnerStatus>)
  /** A digest of the state, small whatever the state's size: to compare replicas. */
  | ({ type: 'digest' } & Asks<LearnerDigest>)
  /** Everything, the log included: for tests and debugging (large for a long log). */
  | ({ type: 'inspect' } & Asks<LearnerView>)
  /** The stamps kept since the last ask (none unless the group was planned with `trace`). */
  | ({ type: 'trace' } & Asks<TraceStamp[]>);

export interface LearnerStatus {
  applied: number;
  snapshotIndex: number;
  /** The highest slot known to be chosen. */
  knownCommit: number;
}

export interface LearnerDigest {
  applied: number;
  snapshotIndex: number;
  /** SHA-256 of the machine's snapshot pieces (as JSON), hex. */
  hash: string;
  /** Length of that JSON. */
  bytes: number;
}

export interface LearnerView {
  applied: number;
  snapshotIndex: number;
  /** Applied slots still in the log (after the snapshot), in order. */
  log: Array<[number, SlotValue]>;
  /** The machine's state, as its snapshot pieces. */
  state: unknown[];
  /** Open client sessions. */
  sessions: number;
}
