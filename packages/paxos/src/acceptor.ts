import { defineActor, type ActorContext, type ActorRef, type ActorStorage } from '@actorfs/actors';
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

type Msg<T extends AcceptorMsg['type']> = Extract<AcceptorMsg, { type: T }>;

/**
 * A Paxos acceptor. Its promise and every accepted (ballot, value) per slot are written to storage
 * and every answer goes out only once what it reports is synced (group-committed with the other
 * writes of the same turn), so a restarted acceptor keeps every promise it made. It also grants
 * the leader lease: each heartbeat or accept from the ballot it promised renews it for leaseMs,
 * and while it runs the acceptor answers no other proposer's prepare. (An accept or heartbeat at
 * a higher ballot still moves its promise on: that proposer already holds a majority's promises.)
 */
export const Acceptor = defineActor('paxos.acceptor', (props: AcceptorProps, ctx: ActorContext<AcceptorMsg>) => {
  const acceptor = new PaxosAcceptor(props, ctx);
  return (msg: AcceptorMsg) => acceptor.receive(msg);
});

class PaxosAcceptor {
  private readonly t: PaxosTiming;
  private readonly store: ActorStorage;
  private readonly log: AcceptedLog;
  private readonly trace: SlotTrace | undefined;
  private promised: Ballot;
  /**
   * The highest promise known to be on disk (all of it is, after a restart). A heartbeat at it
   * changes nothing durable, so its ack need not wait for the other writes' sync.
   */
  private syncedPromise: Ballot;
  private leaseHolder: number;
  private leaseUntil: number;

  constructor(
    private readonly props: AcceptorProps,
    private readonly ctx: ActorContext<AcceptorMsg>,
  ) {
    this.t = timing(props.timing);
    this.store = ctx.storage;
    this.log = new AcceptedLog(this.store);
    this.trace = props.trace ? new SlotTrace() : undefined;
    this.promised = this.store.get<Ballot>('promised') ?? ZERO_BALLOT;
    this.syncedPromise = this.promised;
    // A lease this acceptor granted before a restart may still run: honour it for a full term. Its
    // holder is the proposer of the promise on disk, since a lease is only acknowledged (heartbeat
    // acks) once the promise it rests on is synced.
    this.leaseHolder = this.promised.id;
    this.leaseUntil = sameBallot(this.promised, ZERO_BALLOT) ? 0 : ctx.now() + this.t.leaseMs;
  }

  receive(msg: AcceptorMsg): void {
    const ctx = this.ctx;
    if (droppedAsMalformed(ctx, msg, acceptorMsgProblem)) return;
    switch (msg.type) {
      case 'prepare':
        return this.prepare(msg);
      case 'prepare-more':
        // Only while the promise stands (synced when it was made; the pieces wait on the same commit).
        if (!sameBallot(msg.ballot, this.promised)) return this.nack(msg.ballot, msg.proposer);
        return ctx.sendWhenDurable(msg.proposer, this.promiseFrom(msg.ballot, msg.fromSlot));
      case 'accept':
        return this.accept(msg);
      case 'heartbeat':
        return this.heartbeat(msg);
      case 'read-accepted':
        return this.readAccepted(msg);
      case 'truncate':
        return this.log.truncate(msg.before);
      case 'trace':
        return ctx.reply(this.trace?.take() ?? []);
      case 'inspect':
        return ctx.reply({ promised: this.promised, truncatedBefore: this.log.truncatedBefore, accepted: this.log.slots(0, LAST_SLOT) });
      default:
        return ctx.unhandled(msg satisfies never);
    }
  }

  private prepare(msg: Msg<'prepare'>): void {
    const leaseMs = msg.ballot.id === this.leaseHolder ? 0 : Math.max(0, this.leaseUntil - this.ctx.now());
    if (compareBallots(msg.ballot, this.promised) < 0 || leaseMs > 0) return this.nack(msg.ballot, msg.proposer, leaseMs);
    this.promise(msg.ballot);
    this.ctx.sendWhenDurable(msg.proposer, this.promiseFrom(msg.ballot, msg.fromSlot));
  }

  private accept(msg: Msg<'accept'>): void {
    const ctx = this.ctx;
    if (compareBallots(msg.ballot, this.promised) < 0) return this.nack(msg.ballot, msg.proposer);
    if (msg.slot < this.log.truncatedBefore) {
      // Chosen long ago and compacted away (a leader elected before the truncation reached it).
      return ctx.send(msg.proposer, { type: 'truncated', ballot: msg.ballot, acceptor: this.props.index, before: this.log.truncatedBefore });
    }
    this.promise(msg.ballot);
    this.grantLease(msg.ballot);
    this.log.put(msg.slot, msg.ballot, msg.value);
    if (this.trace) this.traceSync(this.trace, msg.slot);
    ctx.sendWhenDurable(msg.proposer, { type: 'accepted', ballot: msg.ballot, acceptor: this.props.index, slot: msg.slot });
  }

  private heartbeat(msg: Msg<'heartbeat'>): void {
    if (compareBallots(msg.ballot, this.promised) < 0) return this.nack(msg.ballot, msg.proposer);
    this.grantLease(msg.ballot);
    // A leader elected while this acceptor was away (restarted, cut off): promising its ballot
    // is safe, as an accept at that ballot would be, and it lets the leader count this
    // acceptor again. Acknowledged once the promise is on disk (also when an accept or prepare
    // of this turn made it), so the lease it grants survives a restart: a restarted acceptor
    // honours the holder of the promise on disk for a full term. Nothing else needs the sync.
    this.promise(msg.ballot);
    const ack: ProposerMsg = { type: 'heartbeat-ack', ballot: msg.ballot, round: msg.round, acceptor: this.props.index };
    if (sameBallot(this.syncedPromise, msg.ballot)) this.ctx.send(msg.proposer, ack);
    else this.ctx.sendWhenDurable(msg.proposer, ack);
  }

  /** A learner's catch-up, cut short to a reply the transport can carry; `covered` tells the learner how far it reaches. */
  private readAccepted(msg: Msg<'read-accepted'>): void {
    const { entries, more } = this.log.piece(msg.from, msg.to, FETCH_BATCH, this.t.maxReplyBytes);
    const covered = more ? entries[entries.length - 1]![0] : msg.to;
    this.ctx.send(msg.learner, { type: 'accepted-entries', from: msg.from, to: msg.to, covered, acceptor: this.props.index, truncatedBefore: this.log.truncatedBefore, entries });
  }

  /** The promise to `ballot`, with one piece of the accepted slots from `from` on. */
  private promiseFrom(ballot: Ballot, from: number): Extract<ProposerMsg, { type: 'promise' }> {
    const { entries, more } = this.log.piece(from, LAST_SLOT, PROMISE_SLOTS, this.t.maxReplyBytes);
    return { type: 'promise', ballot, acceptor: this.props.index, from, accepted: entries, more, truncatedBefore: this.log.truncatedBefore };
  }

  private promise(ballot: Ballot): void {
    if (compareBallots(ballot, this.promised) <= 0) return;
    this.promised = ballot;
    this.store.put('promised', ballot);
    void this.store.flushed().then(
      () => void (compareBallots(ballot, this.syncedPromise) > 0 && (this.syncedPromise = ballot)),
      () => undefined, // refused: never marked synced, so heartbeats at it keep waiting (and are dropped with it)
    );
  }

  // Only a working leader (accepts, heartbeats) holds the lease; a mere candidate does not, or
  // candidates that each won a minority would lock one another out.
  private grantLease(ballot: Ballot): void {
    this.leaseHolder = ballot.id;
    this.leaseUntil = this.ctx.now() + this.t.leaseMs;
  }

  /** Stamps the accept's arrival and, once synced, its sync (a flushed() promise is settled as the accepted notice goes out). */
  private traceSync(trace: SlotTrace, slot: number): void {
    const stamp = (stage: 'acceptor-received' | 'acceptor-synced'): void => trace.stamp({ stage, slot, at: this.ctx.now(), acceptor: this.props.index });
    stamp('acceptor-received');
    void this.store.flushed().then(() => stamp('acceptor-synced'), () => undefined);
  }

  private nack(ballot: Ballot, proposer: ActorRef<ProposerMsg>, leaseMs = 0): void {
    this.ctx.send(proposer, { type: 'nack', ballot, promised: this.promised, acceptor: this.props.index, leaseMs });
  }
}
