import { defineActor, type ActorContext } from '@actorfs/actors';
import { compareBallots, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.ts';
import { timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, ProposerMsg, SlotValue } from './messages.ts';
import { approxBytes, takeWithin } from './size.ts';
import { acceptorMsgProblem, droppedAsMalformed } from './validate.ts';

export interface AcceptorProps {
  /** This acceptor's index in the group's acceptor list. */
  index: number;
  timing?: Partial<PaxosTiming>;
}

const LAST_SLOT = Number.MAX_SAFE_INTEGER;
/** Accepted slots one piece of a promise carries at most (and maxReplyBytes). */
const PROMISE_SLOTS = 256;

/**
 * A Paxos acceptor. Its promise and every accepted (ballot, value) per slot are written to storage
 * and every answer goes out only once what it reports is synced (group-committed with the other
 * writes of the same turn), so a restarted acceptor keeps every promise it made. It also grants
 * the leader lease: each heartbeat or accept from the ballot it promised renews it for leaseMs,
 * and while it runs the acceptor answers no other proposer's prepare. (An accept or heartbeat at
 * a higher ballot still moves its promise on: that proposer already holds a majority's promises.)
 */
export const Acceptor = defineActor('paxos.acceptor', (props: AcceptorProps, ctx: ActorContext<AcceptorMsg>) => {
  const t = timing(props.timing);
  const store = ctx.storage;
  let promised = store.get<Ballot>('promised') ?? ZERO_BALLOT;
  let truncatedBefore = store.get<number>('truncated') ?? 0;
  // A lease this acceptor granted before a restart may still run: honour it for a full term. Its
  // holder is the proposer of the promise on disk, since a lease is only acknowledged (heartbeat
  // acks) once the promise it rests on is synced.
  let leaseHolder = promised.id;
  let leaseUntil = sameBallot(promised, ZERO_BALLOT) ? 0 : ctx.now() + t.leaseMs;

  /** Accepted (slot, ballot, value) of slots from..to (inclusive), never below the truncation point; at most `limit`. */
  const acceptedSlots = (from: number, to: number, limit?: number): Array<[number, Ballot, SlotValue]> =>
    store
      .range<[Ballot, SlotValue]>({ start: ['acc', Math.max(from, truncatedBefore)], end: ['acc', to + 1], ...(limit === undefined ? {} : { limit }) })
      .map(({ key, value }) => [key[1] as number, value[0], value[1]]);

  /** The promise to `ballot`, with one piece of the accepted slots from `from` on (within maxReplyBytes). */
  const promiseFrom = (ballot: Ballot, from: number): Extract<ProposerMsg, { type: 'promise' }> => {
    const read = acceptedSlots(from, LAST_SLOT, PROMISE_SLOTS + 1);
    const accepted = takeWithin(read.slice(0, PROMISE_SLOTS), t.maxReplyBytes, (e) => approxBytes(e[2]));
    return { type: 'promise', ballot, acceptor: props.index, from, accepted, more: accepted.length < read.length, truncatedBefore };
  };

  const promise = (ballot: Ballot): void => {
    if (compareBallots(ballot, promised) <= 0) return;
    promised = ballot;
    store.put('promised', promised);
  };

  // Only a working leader (accepts, heartbeats) holds the lease; a mere candidate does not, or
  // candidates that each won a minority would lock one another out.
  const grantLease = (ballot: Ballot): void => {
    leaseHolder = ballot.id;
    leaseUntil = ctx.now() + t.leaseMs;
  };

  return (msg: AcceptorMsg) => {
    if (droppedAsMalformed(ctx, msg, acceptorMsgProblem)) return;
    switch (msg.type) {
      case 'prepare': {
        const leaseMs = msg.ballot.id === leaseHolder ? 0 : Math.max(0, leaseUntil - ctx.now());
        if (compareBallots(msg.ballot, promised) < 0 || leaseMs > 0) {
          return ctx.send(msg.proposer, { type: 'nack', ballot: msg.ballot, promised, acceptor: props.index, leaseMs });
        }
        promise(msg.ballot);
        return ctx.sendWhenDurable(msg.proposer, promiseFrom(msg.ballot, msg.fromSlot));
      }
      case 'prepare-more':
        // Only while the promise stands (synced when it was made; the pieces wait on the same commit).
        if (!sameBallot(msg.ballot, promised)) return ctx.send(msg.proposer, { type: 'nack', ballot: msg.ballot, promised, acceptor: props.index, leaseMs: 0 });
        return ctx.sendWhenDurable(msg.proposer, promiseFrom(msg.ballot, msg.fromSlot));
      case 'accept': {
        if (compareBallots(msg.ballot, promised) < 0) {
          return ctx.send(msg.proposer, { type: 'nack', ballot: msg.ballot, promised, acceptor: props.index, leaseMs: 0 });
        }
        if (msg.slot < truncatedBefore) {
          // Chosen long ago and compacted away (a leader elected before the truncation reached it).
          return ctx.send(msg.proposer, { type: 'truncated', ballot: msg.ballot, acceptor: props.index, before: truncatedBefore });
        }
        promise(msg.ballot);
        grantLease(msg.ballot);
        store.put(['acc', msg.slot], [msg.ballot, msg.value]);
        return ctx.sendWhenDurable(msg.proposer, { type: 'accepted', ballot: msg.ballot, acceptor: props.index, slot: msg.slot });
      }
      case 'heartbeat': {
        if (compareBallots(msg.ballot, promised) < 0) return ctx.send(msg.proposer, { type: 'nack', ballot: msg.ballot, promised, acceptor: props.index, leaseMs: 0 });
        grantLease(msg.ballot);
        // A leader elected while this acceptor was away (restarted, cut off): promising its ballot
        // is safe, as an accept at that ballot would be, and it lets the leader count this
        // acceptor again. Acknowledged once the promise is on disk (also when an accept or prepare
        // of this turn made it), so the lease it grants survives a restart.
        promise(msg.ballot);
        return ctx.sendWhenDurable(msg.proposer, { type: 'heartbeat-ack', ballot: msg.ballot, round: msg.round, acceptor: props.index });
      }
      case 'read-accepted': {
        // Cut short to a reply the transport can carry; `covered` tells the learner how far it reaches.
        const all = acceptedSlots(msg.from, msg.to);
        const entries = takeWithin(all, t.maxReplyBytes, (e) => approxBytes(e[2]));
        const covered = entries.length < all.length ? entries[entries.length - 1]![0] : msg.to;
        const reply = { type: 'accepted-entries' as const, from: msg.from, to: msg.to, covered, acceptor: props.index, truncatedBefore, entries };
        return ctx.send(msg.learner, reply);
      }
      case 'truncate': {
        if (msg.before <= truncatedBefore) return;
        for (const { key } of store.range({ start: ['acc', truncatedBefore], end: ['acc', msg.before] })) store.delete(key);
        truncatedBefore = msg.before;
        store.put('truncated', truncatedBefore);
        return;
      }
      case 'inspect':
        return ctx.reply({
          promised,
          truncatedBefore,
          accepted: acceptedSlots(0, LAST_SLOT),
        });
      default:
        return ctx.unhandled(msg);
    }
  };
});
