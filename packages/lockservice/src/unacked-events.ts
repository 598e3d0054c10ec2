/**
 * One session's events at the master, kept until the client acknowledges them, so each reaches it
 * at least once, in commit order: every KeepAlive answer carries all that are not acknowledged
 * yet (numbered from `firstSeq`, one apart), and the client's next KeepAlive names the last number
 * it heard. A lost answer's events go again in the next.
 *
 * At the bound (`max` events not acknowledged), all of them and the ones arriving go, replaced by
 * one loss mark with a number of its own: answers say `eventsLost` until the client acknowledges
 * the mark, and the client drops its cache and tells the application that events were lost.
 */
export class UnackedEvents<E> {
  private first = 1;
  private events: E[] = [];
  /** The number of the loss mark, until acknowledged. */
  private lostSeq: number | undefined;

  constructor(private readonly max: number) {}

  push(events: E[]): void {
    if (this.events.length + events.length <= this.max) return void this.events.push(...events);
    this.lostSeq = this.first + this.events.length;
    this.events = [];
    this.first = this.lostSeq + 1;
  }

  /** The client heard every event up to `seq` (and the loss mark, if its number is not above). */
  ack(seq: number): void {
    const heard = Math.min(this.events.length, Math.max(0, seq - this.first + 1));
    if (heard > 0) {
      this.events = this.events.slice(heard);
      this.first += heard;
    }
    if (this.lostSeq !== undefined && seq >= this.lostSeq) this.lostSeq = undefined;
  }

  /** Something the client has not acknowledged: the next KeepAlive is answered at once. */
  get owed(): boolean {
    return this.events.length > 0 || this.lostSeq !== undefined;
  }

  /** What an answer carries: every event not acknowledged, from number `firstSeq`. */
  get unacked(): { events: E[]; firstSeq: number; eventsLost: boolean } {
    return { events: [...this.events], firstSeq: this.first, eventsLost: this.lostSeq !== undefined };
  }
}
