import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { compareBallots, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.ts';
import { FETCH_BATCH, timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, ProposerMsg } from './messages.ts';
import { AcceptedLog, LAST_SLOT } from './accepted-log.ts';
import { SlotTrace } from './trace.ts';
import { acceptorMsgProblem, droppedAsMalformed } from './validate.ts';

export interface AcceptorProps {
  /** This acceptor's index in the group's acceptor list. */
  index: number;
  timing?: Partial<PaxosTiming>;
  /** Keep stamps of each slot's way (see trace.ts), for a benchmark's breakdown. */
  trace?: boolean;
}

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
  const log = new AcceptedLog(store);
  const trace = props.trace ? new SlotTrace() : undefined;
  let promised = store.get<Ballot>('promised') ?? ZERO_BALLOT;
  // A lease this acceptor granted before a restart may still run: honour it for a full term. Its
  // holder is the proposer of the promise on disk, since a lease is only acknowledged (heartbeat
  // acks) once the promise it rests on is synced.
  // The highest promise known to be on disk (all of it is, after a restart). A heartbeat at it
  // changes nothing durable, so its ack need not wait for the other writes' sync.
  let syncedPromise = promised;
  let leaseHolder = promised.id;
  let leaseUntil = sameBallot(promised, ZERO_BALLOT) ? 0 : ctx.now() + t.leaseMs;

  /** The promise to `ballot`, with one piece of the accepted slots from `from` on. */
  const promiseFrom = (ballot: Ballot, from: number): Extract<ProposerMsg, { type: 'promise' }> => {
    const { entries, more } = log.piece(from, LAST_SLOT, PROMISE_SLOTS, t.maxReplyBytes);
    return { type: 'promise', ballot, acceptor: props.index, from, accepted: entries, more, truncatedBefore: log.truncatedBefore };
  };

  const promise = (ballot: Ballot): void => {
    if (compareBallots(ballot, promised) <= 0) return;
    promised = ballot;
    store.put('promised', promised);
    void store.flushed().then(
      () => void (compareBallots(ballot, syncedPromise) > 0 && (syncedPromise = ballot)),
      () => undefined, // refused: never marked synced, so heartbeats at it keep waiting (and are dropped with it)
    );
  };

  // Only a working leader (accepts, heartbeats) holds the lease; a mere candidate does not, or
  // candidates that each won a minority would lock one another out.
  const grantLease = (ballot: Ballot): void => {
    leaseHolder = ballot.id;
    leaseUntil = ctx.now() + t.leaseMs;
  };

  /** Stamps the accept's arrival and, once synced, its sync (a flushed() promise is settled as the accepted notice goes out). */
  const traceSync = (trace: SlotTrace, slot: number): void => {
    const stamp = (stage: 'acceptor-received' | 'acceptor-synced'): void => trace.stamp({ stage, slot, at: ctx.now(), acceptor: props.index });
    stamp('acceptor-received');
    void store.flushed().then(() => stamp('acceptor-synced'), () => undefined);
  };

  const nack = (ballot: Ballot, proposer: ActorRef<ProposerMsg>, leaseMs = 0): void => ctx.send(proposer, { type: 'nack', ballot, promised, acceptor: props.index, leaseMs });

  return (msg: AcceptorMsg) => {
    if (droppedAsMalformed(ctx, msg, acceptorMsgProblem)) return;
    switch (msg.type) {
      case 'prepare': {
        const leaseMs = msg.ballot.id === leaseHolder ? 0 : Math.max(0, leaseUntil - ctx.now());
        if (compareBallots(msg.ballot, promised) < 0 || leaseMs > 0) return nack(msg.ballot, msg.proposer, leaseMs);
        promise(msg.ballot);
        return ctx.sendWhenDurable(msg.proposer, promiseFrom(msg.ballot, msg.fromSlot));
      }
      case 'prepare-more':
        // Only while the promise stands (synced when it was made; the pieces wait on the same commit).
        if (!sameBallot(msg.ballot, promised)) return nack(msg.ballot, msg.proposer);
        return ctx.sendWhenDurable(msg.proposer, promiseFrom(msg.ballot, msg.fromSlot));
      case 'accept': {
        if (compareBallots(msg.ballot, promised) < 0) return nack(msg.ballot, msg.proposer);
        if (msg.slot < log.truncatedBefore) {
          // Chosen long ago and compacted away (a leader elected before the truncation reached it).
          return ctx.send(msg.proposer, { type: 'truncated', ballot: msg.ballot, acceptor: props.index, before: log.truncatedBefore });
        }
        promise(msg.ballot);
        grantLease(msg.ballot);
        log.put(msg.slot, msg.ballot, msg.value);
        if (trace) traceSync(trace, msg.slot);
        return ctx.sendWhenDurable(msg.proposer, { type: 'accepted', ballot: msg.ballot, acceptor: props.index, slot: msg.slot });
      }
      case 'heartbeat': {
        if (compareBallots(msg.ballot, promised) < 0) return nack(msg.ballot, msg.proposer);
        grantLease(msg.ballot);
        // A leader elected while this acceptor was away (restarted, cut off): promising its ballot
        // is safe, as an accept at that ballot would be, and it lets the leader count this
        // acceptor again. Acknowledged once the promise is on disk (also when an accept or prepare
        // of this turn made it), so the lease it grants survives a restart: a restarted acceptor
        // honours the holder of the promise on disk for a full term. Nothing else needs the sync.
        promise(msg.ballot);
        const ack: ProposerMsg = { type: 'heartbeat-ack', ballot: msg.ballot, round: msg.round, acceptor: props.index };
        if (sameBallot(syncedPromise, msg.ballot)) return ctx.send(msg.proposer, ack);
        return ctx.sendWhenDurable(msg.proposer, ack);
      }
      case 'read-accepted': {
        // Cut short to a reply the transport can carry; `covered` tells the learner how far it reaches.
        const { entries, more } = log.piece(msg.from, msg.to, FETCH_BATCH, t.maxReplyBytes);
        const covered = more ? entries[entries.length - 1]![0] : msg.to;
        return ctx.send(msg.learner, { type: 'accepted-entries', from: msg.from, to: msg.to, covered, acceptor: props.index, truncatedBefore: log.truncatedBefore, entries });
      }
      case 'truncate':
        return log.truncate(msg.before);
      case 'trace':
        return ctx.reply(trace?.take() ?? []);
      case 'inspect':
        return ctx.reply({ promised, truncatedBefore: log.truncatedBefore, accepted: log.slots(0, LAST_SLOT) });
      default:
        return ctx.unhandled(msg);
    }
  };
});
