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
 * single heap would give.
 */
export class EventQueue {
  private heap: SimEvent[] = [];
  private now: Array<SimEvent | undefined> = [];
  private nowHead = 0;
  private seq = 0;
  /** The time of the last event popped: nothing is scheduled earlier. */
  private popped = -Infinity;

  get size(): number {
    return this.heap.length + this.now.length - this.nowHead;
  }

  push(time: number, run: () => void): SimEvent {
    const ev: SimEvent = { time, seq: this.seq++, run, cancelled: false };
    if (time === this.popped) {
      this.now.push(ev);
      return ev;
    }
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(ev, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ev;
    return ev;
  }

  peek(): SimEvent | undefined {
    const top = this.heap[0];
    const due = this.now[this.nowHead];
    if (due === undefined) return top;
    return top === undefined || before(due, top) ? due : top;
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
    if (this.nowHead === this.now.length) {
      this.now.length = 0;
      this.nowHead = 0;
    } else if (this.nowHead >= 1024 && this.nowHead * 2 >= this.now.length) {
      this.now = this.now.slice(this.nowHead);
      this.nowHead = 0;
    }
  }

  private popHeap(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
