import { ActorRef, type ActorContext } from '@actorfs/actors';
import type { AcceptorMsg, LearnerMsg, ProposerMsg } from './messages.ts';

/**
 * Shape checks for the messages Paxos actors receive. The runtime checks only that a message is
 * an object with a string `type`; a field of the wrong type would otherwise throw inside the
 * actor (a restart loses a leader's queue or a learner's log) or do worse quietly: a round of
 * 1e308 cannot be outbid, and a string truncation point sorts after every slot. Each function
 * returns what is wrong, or undefined.
 */
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isRef = (v: unknown): boolean => v instanceof ActorRef;
export const isBallot = (v: unknown): boolean => {
  const b = v as { round?: unknown; id?: unknown } | null;
  return typeof b === 'object' && b !== null && isIndex(b.round) && Number.isSafeInteger(b.id);
};
/** Whether v is a SlotValue whose commands are well formed. */
export const isSlotValue = (v: unknown): boolean => {
  const s = v as { cmds?: unknown; time?: unknown } | null;
  return Number.isFinite(s?.time) && Array.isArray(s?.cmds) && s.cmds.every((c) => commandProblem(c) === undefined);
};
const isAcceptedList = (v: unknown): boolean =>
  Array.isArray(v) && v.every((e) => Array.isArray(e) && isIndex(e[0]) && isBallot(e[1]) && isSlotValue(e[2]));
const isEntryList = (v: unknown): boolean => Array.isArray(v) && v.every((e) => Array.isArray(e) && isIndex(e[0]) && isSlotValue(e[1]));

const isBytes = (v: unknown): boolean => v instanceof Uint8Array && v.length > 0;
const isByteList = (v: unknown): boolean => Array.isArray(v) && v.every((p) => p instanceof Uint8Array);
const isName = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/** What is wrong with a client's command, or undefined. */
export function commandProblem(cmd: unknown): string | undefined {
  const c = cmd as Partial<Record<string, unknown>> | null;
  if (typeof c !== 'object' || c === null) return 'a command must be an object { type, ... }';
  switch (c.type) {
    case 'op':
      if (!isName(c.session)) return 'command.session must be a non-empty string';
      if (!Number.isSafeInteger(c.seq) || (c.seq as number) < 1) return 'command.seq must be a positive integer';
      if (!isIndex(c.ack) || (c.ack as number) >= (c.seq as number)) return 'command.ack must be an integer from 0 to seq - 1';
      return undefined;
    case 'open':
      return isName(c.client) ? undefined : 'command.client must be a non-empty string';
    case 'close':
      return isName(c.session) ? undefined : 'command.session must be a non-empty string';
    default:
      return "command.type must be 'op', 'open' or 'close'";
  }
}

/** Drops msg as a dead letter, with a warning, if `problem` finds something wrong with it. */
export function droppedAsMalformed<M extends { type: string }>(ctx: ActorContext<M>, msg: M, problem: (msg: M) => string | undefined): boolean {
  const why = problem(msg);
  if (why === undefined) return false;
  ctx.log.warn('malformed message dropped', { problem: why });
  ctx.unhandled(msg);
  return true;
}

/** Field name -> check, per message type; every listed field must pass. */
function checker(fields: Record<string, Record<string, (v: unknown) => boolean>>): (msg: { type: string }) => string | undefined {
  return (msg) => {
    const spec = fields[msg.type];
    if (!spec) return undefined; // unknown types are the actor's `default:` case
    const m = msg as unknown as Record<string, unknown>;
    for (const [field, ok] of Object.entries(spec)) if (!ok(m[field])) return `${msg.type}: bad or missing ${field}`;
    return undefined;
  };
}

const any = (): boolean => true;
const optional = (check: (v: unknown) => boolean) => (v: unknown) => v === undefined || check(v);

export const acceptorMsgProblem: (msg: AcceptorMsg) => string | undefined = checker({
  prepare: { ballot: isBallot, fromSlot: isIndex, proposer: isRef },
  // The value's bytes are stored as they are and checked as a SlotValue when read back (slot-bytes.ts).
  accept: { ballot: isBallot, slot: isIndex, value: isBytes, proposer: isRef },
  heartbeat: { ballot: isBallot, round: isIndex, proposer: isRef },
  'prepare-more': { ballot: isBallot, fromSlot: isIndex, proposer: isRef },
  truncate: { before: isIndex },
  'read-accepted': { from: isIndex, to: isIndex, learner: isRef },
});

export const proposerMsgProblem: (msg: ProposerMsg) => string | undefined = checker({
  read: { query: any },
  'propose-batch': { cmds: Array.isArray },
  promise: { ballot: isBallot, acceptor: isIndex, from: isIndex, accepted: isAcceptedList, more: (v) => typeof v === 'boolean', truncatedBefore: isIndex },
  accepted: { ballot: isBallot, acceptor: isIndex, slot: isIndex },
  nack: { ballot: isBallot, promised: isBallot, acceptor: isIndex, leaseMs: (v) => typeof v === 'number' && v >= 0 },
  'heartbeat-ack': { ballot: isBallot, round: isIndex, acceptor: isIndex },
  truncated: { ballot: isBallot, acceptor: isIndex, before: isIndex },
  leader: { ballot: isBallot, leader: isRef, commitIndex: isIndex },
  'learner-status': { learner: isIndex, applied: isIndex, snapshot: isIndex },
  fetch: { from: isIndex, learner: isRef },
  subscribe: { subscriber: isRef },
});

export const learnerMsgProblem: (msg: LearnerMsg) => string | undefined = checker({
  commit: { slot: isIndex, value: isSlotValue, handles: optional(Array.isArray), batches: optional(Array.isArray) },
  // Its value is checked as it is decoded (Learner).
  'commit-encoded': { slot: isIndex, value: isBytes },
  'read-at': { index: isIndex },
  'commit-index': { index: isIndex, leader: isRef },
  fetch: { from: isIndex, learner: isRef },
  entries: { entries: isEntryList },
  'snapshot-chunk': { index: isIndex, time: Number.isFinite, total: isIndex, machinePieces: isIndex, first: isIndex, pieces: isByteList, peer: isRef },
  'snapshot-fetch': { index: isIndex, from: isIndex, learner: isRef },
  subscribe: { subscriber: isRef },
  'accepted-entries': { from: isIndex, to: isIndex, covered: isIndex, acceptor: isIndex, truncatedBefore: isIndex, entries: isAcceptedList },
});
