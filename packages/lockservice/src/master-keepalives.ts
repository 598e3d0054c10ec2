import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import type { DbEvent, SessionId } from './protocol.ts';
import type { MasterEvent, ServerMsg } from './server-protocol.ts';
import { SessionLeases, type LeaseEffect, type LeaseInput, type LeaseTiming } from './session-leases.ts';
import { unreachable } from './unreachable.ts';

/** A KeepAlive held at the master, and when it arrived (the answer says how long it was held). */
interface HeldKeepAlive {
  to: ReplyHandle;
  at: number;
}

/** What the KeepAlive holder needs of its master. */
export interface KeepAliveMaster {
  /** A session taken over has flushed its cache: it heard an answer of this master. */
  flushed(session: SessionId): void;
  /** Cache invalidations the client applied (acknowledged with its KeepAlive). */
  acknowledged(acks: number[]): void;
  /** The session's lease ran out: propose its expiry. */
  expire(session: SessionId): void;
}

/**
 * The master's side of KeepAlive: each session's lease and its held KeepAlive (`SessionLeases`),
 * answered near the lease's end or early with the session's events and cache invalidations.
 */
export class KeepAliveHolder {
  private readonly leases: SessionLeases<HeldKeepAlive, MasterEvent>;

  constructor(
    private readonly ctx: ActorContext<ServerMsg>,
    timing: LeaseTiming,
    /** Names the term in KeepAlive answers: event numbers count within it. */
    private readonly termName: string,
    private readonly master: KeepAliveMaster,
  ) {
    this.leases = new SessionLeases(timing);
  }

  step(input: LeaseInput<HeldKeepAlive, MasterEvent>): void {
    for (const e of this.leases.step(input, this.ctx.now())) this.effect(e);
  }

  keepAlive(msg: Extract<ServerMsg, { type: 'keepAlive' }>, to: ReplyHandle): void {
    const { session, acks } = msg;
    // A client that heard this master has flushed its cache (the failover answer says so).
    const ack = msg.seen?.term === this.termName ? msg.seen.seq : undefined;
    if (ack !== undefined) this.master.flushed(session);
    this.master.acknowledged(acks);
    this.step({ type: 'keepAlive', session, from: { to, at: this.ctx.now() }, answerNow: msg.answerNow === true, ...(ack === undefined ? {} : { ack }) });
  }

  /**
   * Committed database events, to the sessions they are for. A session opened gets its lease here
   * too, so one whose open's answer this master did not hear still expires by the same rule.
   */
  events(events: Array<[number, unknown]>): void {
    const bySession = new Map<SessionId, MasterEvent[]>();
    for (const [, e] of events) {
      const event = e as DbEvent;
      if (event.kind === 'sessionOpened') {
        this.step({ type: 'sessionOpened', session: event.session });
        continue;
      }
      let list = bySession.get(event.session);
      if (!list) bySession.set(event.session, (list = []));
      list.push({ type: 'event', event });
    }
    for (const [session, list] of bySession) this.step({ type: 'events', session, events: list });
  }

  nextWakeAt(): number | undefined {
    return this.leases.nextWakeAt();
  }

  deadlineOf(session: SessionId): number | undefined {
    return this.leases.deadlineOf(session);
  }

  private effect(e: LeaseEffect<HeldKeepAlive, MasterEvent>): void {
    switch (e.type) {
      case 'answer': {
        const { leaseRemainingMs, events, firstSeq, eventsLost, failover } = e;
        return this.ctx.replyTo(e.to.to, { ok: true, heldMs: this.ctx.now() - e.to.at, leaseRemainingMs, term: this.termName, events, firstSeq, eventsLost, failover });
      }
      case 'refuse':
        return this.ctx.replyTo(e.to.to, { ok: false, reason: e.reason });
      case 'proposeExpire':
        return this.master.expire(e.session);
      default:
        return unreachable(e, 'master leases');
    }
  }
}
