import type { ActorRef, Asks, ReplyHandle } from '@actorfs/actors';
import type { Ballot } from './ballot.ts';

/** A client's command: exactly-once per (client, seq). */
export interface Command {
  readonly client: string;
  readonly seq: number;
  readonly op: unknown;
}

/** What one slot of the log holds: a batch of commands (empty for a no-op that fills a gap). */
export interface SlotValue {
  readonly cmds: readonly Command[];
}

/** `refused`: the command itself is refused (malformed, too large, a stale retry); retrying cannot help. */
export type ProposeReply = { ok: true; result: unknown } | { ok: false; leader?: ActorRef<ProposerMsg>; reason: string; refused?: true };

// ---- acceptor ----

export type AcceptorMsg =
  | { type: 'prepare'; ballot: Ballot; fromSlot: number; proposer: ActorRef<ProposerMsg> }
  | { type: 'accept'; ballot: Ballot; slot: number; value: SlotValue; proposer: ActorRef<ProposerMsg> }
  | { type: 'heartbeat'; ballot: Ballot; round: number; proposer: ActorRef<ProposerMsg> }
  | { type: 'truncate'; before: number }
  /** A learner's catch-up: the accepted entries of slots from..to (see Learner). */
  | { type: 'read-accepted'; from: number; to: number; learner: ActorRef<LearnerMsg> }
  | ({ type: 'inspect' } & Asks<AcceptorView>);

export interface AcceptorView {
  promised: Ballot;
  truncatedBefore: number;
  accepted: Array<[slot: number, ballot: Ballot, value: SlotValue]>;
}

// ---- proposer ----

export type ProposerMsg =
  | ({ type: 'propose'; cmd: Command } & Asks<ProposeReply>)
  | ({ type: 'read'; query: unknown } & Asks<ProposeReply>)
  | { type: 'promise'; ballot: Ballot; acceptor: number; accepted: Array<[number, Ballot, SlotValue]>; truncatedBefore: number }
  | { type: 'accepted'; ballot: Ballot; acceptor: number; slot: number }
  | { type: 'nack'; ballot: Ballot; promised: Ballot; acceptor: number; leaseMs: number }
  | { type: 'heartbeat-ack'; ballot: Ballot; round: number; acceptor: number }
  /** An accept for a slot the acceptor has compacted: every slot before `before` is chosen and in a snapshot. */
  | { type: 'truncated'; ballot: Ballot; acceptor: number; before: number }
  | { type: 'leader'; ballot: Ballot; leader: ActorRef<ProposerMsg>; commitIndex: number }
  | { type: 'learner-status'; learner: number; applied: number; snapshot: number }
  | { type: 'fetch'; from: number; learner: ActorRef<LearnerMsg> }
  | { type: 'tick' }
  | { type: 'flush' }
  | { type: 'widen' }
  | ({ type: 'status' } & Asks<ProposerStatus>);

export interface ProposerStatus {
  id: number;
  role: 'follower' | 'candidate' | 'leader';
  ballot: Ballot;
  leaseValid: boolean;
  nextSlot: number;
  commitIndex: number;
  inflight: number;
  queued: number;
}

// ---- learner ----

export type LearnerMsg =
  /** handles[i] answers value.cmds[i] (only the responding learner gets them). */
  | { type: 'commit'; slot: number; value: SlotValue; handles?: Array<ReplyHandle | null> }
  | { type: 'read-at'; index: number; query: unknown; handle: ReplyHandle }
  /** Every slot up to index is chosen. */
  | { type: 'commit-index'; index: number; leader: ActorRef<ProposerMsg> }
  | { type: 'fetch'; from: number; learner: ActorRef<LearnerMsg> }
  | { type: 'entries'; entries: Array<[number, SlotValue]> }
  | { type: 'snapshot'; index: number; state: unknown; sessions: Array<[string, number, unknown]> }
  /** An acceptor's answer to read-accepted from..to: its accepted entries of slots from..covered (cut short to stay small). */
  | { type: 'accepted-entries'; from: number; to: number; covered: number; acceptor: number; truncatedBefore: number; entries: Array<[slot: number, ballot: Ballot, value: SlotValue]> }
  | { type: 'tick' }
  | ({ type: 'status' } & Asks<LearnerStatus>)
  /** Everything, the log included: for tests and debugging (large for a long log). */
  | ({ type: 'inspect' } & Asks<LearnerView>);

export interface LearnerStatus {
  applied: number;
  snapshotIndex: number;
  /** The highest slot known to be chosen. */
  knownCommit: number;
}

export interface LearnerView {
  applied: number;
  snapshotIndex: number;
  /** Applied slots still in the log (after the snapshot), in order. */
  log: Array<[number, SlotValue]>;
  /** A digest of the machine's state. */
  state: unknown;
}
