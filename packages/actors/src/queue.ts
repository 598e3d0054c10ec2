const EMPTY: unknown[] = [];

/** A growable ring buffer of message/meta pairs: O(1) push and shift, no per-message allocation. */
export class MessageQueue {
  // Allocated on first push: most actors sit idle most of the time.
  private items: unknown[] = EMPTY;
  private head = 0;
  private count = 0;
  /** The meta of the pair `take` took last. */
  takenMeta: unknown = undefined;

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

  /** Removes the oldest pair and returns its message; its meta is then in `takenMeta`. */
  take(): unknown {
    const items = this.items;
    const i = this.head << 1;
    const msg = items[i];
    this.takenMeta = items[i + 1];
    items[i] = undefined;
    items[i + 1] = undefined;
    this.head = (this.head + 1) & ((items.length >> 1) - 1);
    this.count--;
    return msg;
  }

  /** Takes every pair out, oldest first. */
  drain(): Array<[unknown, unknown]> {
    const out: Array<[unknown, unknown]> = [];
    while (this.count > 0) {
      const msg = this.take();
      out.push([msg, this.takenMeta]);
    }
    this.takenMeta = undefined;
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
