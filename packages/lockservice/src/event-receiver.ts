import type { EventsSeen } from './server-protocol.ts';

/** What a KeepAlive answer says of events: see KeepAliveReply. */
export interface EventsAnswer<E> {
  term: string;
  events: E[];
  firstSeq: number;
  eventsLost: boolean;
  failover: boolean;
}

/** What is new in an answer: events not heard before (in commit order), a loss, a master's failover. */
export interface EventsHeard<E> {
  events: E[];
  lost: boolean;
  failover: boolean;
}

/**
 * The client's side of at-least-once events: the master sends every event it has not had
 * acknowledged in each answer, so copies come; this keeps the last number heard per master term
 * and passes on only what is new. A new term starts counting again; its `failover` is heard once.
 */
export class EventReceiver<E> {
  private last: EventsSeen | undefined;

  /** What the next KeepAlive acknowledges (undefined before any answer). */
  get seen(): EventsSeen | undefined {
    return this.last;
  }

  receive(answer: EventsAnswer<E>): EventsHeard<E> {
    const newTerm = this.last?.term !== answer.term;
    const heard = newTerm ? 0 : this.last!.seq;
    const lastSeq = answer.firstSeq + answer.events.length - 1;
    this.last = { term: answer.term, seq: Math.max(heard, lastSeq) };
    return {
      events: answer.events.slice(Math.max(0, heard - answer.firstSeq + 1)),
      // The loss mark is numbered just before the first event kept after it.
      lost: answer.eventsLost && answer.firstSeq - 1 > heard,
      failover: newTerm && answer.failover,
    };
  }
}
