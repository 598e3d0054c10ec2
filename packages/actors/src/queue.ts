const EMPTY: unknown[] = [];

/** A growable ring buffer of message/meta pairs: O(1) push and shift, no per-message allocation. */
export class MessageQueue {
  // Allocated on first push: most actors sit idle most of the time.
  private items: unknown[] = EMPTY;
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(msg: unknown, meta: unknown): void {
    const cap = this.items.length >> 1;
    if (this.count === cap) this.grow();
    const i = ((this.head + this.count) & ((this.items.length >> 1) - 1)) << 1;
    this.items[i] = msg;
    this.items[i + 1] = meta;
    this.count++;
  }

  /** Removes the oldest pair; read it first with peekMsg/peekMeta. */
  shift(): void {
    const i = this.head << 1;
    this.items[i] = undefined;
    this.items[i + 1] = undefined;
    this.head = (this.head + 1) & ((this.items.length >> 1) - 1);
    this.count--;
  }

  peekMsg(): unknown {
    return this.items[this.head << 1];
  }

  peekMeta(): unknown {
    return this.items[(this.head << 1) + 1];
  }

  /** Takes every pair out, oldest first. */
  drain(): Array<[unknown, unknown]> {
    const out: Array<[unknown, unknown]> = [];
    while (this.count > 0) {
      out.push([this.peekMsg(), this.peekMeta()]);
      this.shift();
    }
    return out;
  }

  private grow(): void {
    const cap = this.items.length >> 1;
    const next = new Array<unknown>(Math.max(8, cap * 4));
    for (let k = 0; k < this.count; k++) {
      const from = ((this.head + k) & (cap - 1)) << 1;
      next[k * 2] = this.items[from];
      next[k * 2 + 1] = this.items[from + 1];
    }
    this.items = next;
    this.head = 0;
  }
}
