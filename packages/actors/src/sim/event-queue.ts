/** A scheduled piece of work in virtual time. `seq` breaks ties, so equal times run in order. */
export interface SimEvent {
  time: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

/**
 * Events in (time, seq) order. Most events are due at the time of the event that scheduled them
 * (a node's next turn, say): those wait in a FIFO, which is in order by construction; the rest
 * wait in a binary min-heap. Pop takes the earlier of the two heads, so the order is the one a
 * single heap would give. The heap keeps its keys in typed arrays beside the events, so sifting
 * compares contiguous numbers instead of chasing each event object.
 */
export class EventQueue {
  private events: Array<SimEvent | undefined> = [];
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private count = 0;
  private now: Array<SimEvent | undefined> = [];
  private nowHead = 0;
  private nowTail = 0;
  private seq = 0;
  /** The time of the last event popped: nothing is scheduled earlier. */
  private popped = -Infinity;

  get size(): number {
    return this.count + this.nowTail - this.nowHead;
  }

  push(time: number, run: () => void): SimEvent {
    return this.add({ time, seq: 0, run, cancelled: false });
  }

  /** Schedules an event made by the caller (one object where a closure would be a second); sets its seq. */
  add<E extends SimEvent>(ev: E): E {
    const seq = (ev.seq = this.seq++);
    if (ev.time === this.popped) this.now[this.nowTail++] = ev;
    else this.pushHeap(ev, ev.time, seq);
    return ev;
  }

  peek(): SimEvent | undefined {
    const due = this.now[this.nowHead];
    if (this.count === 0) return due;
    if (due === undefined || this.times[0]! < due.time || (this.times[0] === due.time && this.seqs[0]! < due.seq)) return this.events[0];
    return due;
  }

  pop(): SimEvent | undefined {
    const ev = this.peek();
    if (ev === undefined) return undefined;
    if (ev === this.now[this.nowHead]) this.shiftNow();
    else this.popHeap();
    this.popped = ev.time;
    return ev;
  }

  private shiftNow(): void {
    this.now[this.nowHead++] = undefined; // the queue keeps no run that has left it
    if (this.nowHead === this.nowTail) this.nowHead = this.nowTail = 0;
  }

  private pushHeap(ev: SimEvent, time: number, seq: number): void {
    if (this.count === this.times.length) this.grow();
    const { times, seqs } = this;
    let i = this.count++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p]! < time || (times[p] === time && seqs[p]! < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.place(i, time, seq, ev);
  }

  private popHeap(): void {
    const { times, seqs, events } = this;
    const n = --this.count;
    const time = times[n]!;
    const seq = seqs[n]!;
    const last = events[n]!;
    events[n] = undefined;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (times[r]! < times[c]! || (times[r] === times[c] && seqs[r]! < seqs[c]!))) c = r;
      if (time < times[c]! || (time === times[c] && seq < seqs[c]!)) break;
      this.move(c, i);
      i = c;
    }
    this.place(i, time, seq, last);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.events[to] = this.events[from];
  }

  private place(i: number, time: number, seq: number, ev: SimEvent): void {
    this.times[i] = time;
    this.seqs[i] = seq;
    this.events[i] = ev;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    times.set(this.times);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }
}
