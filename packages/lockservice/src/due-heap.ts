/**
 * Times at which keys fall due, earliest first: a binary min-heap with lazy removal. `set` pushes
 * an entry and leaves the key's older entries behind; they are skipped as they surface (the key's
 * current time differs), and the heap is rebuilt once they outnumber the live ones.
 */
export class DueHeap<K> {
  private readonly due = new Map<K, number>();
  private heap: Array<{ at: number; key: K; order: number }> = [];
  private order = 0;

  get size(): number {
    return this.due.size;
  }

  /** `at` undefined: the key is not due at all. */
  set(key: K, at: number | undefined): void {
    if (at === undefined) {
      this.due.delete(key);
      return;
    }
    if (this.due.get(key) === at) return;
    this.due.set(key, at);
    this.push({ at, key, order: this.order++ });
    if (this.heap.length > 2 * this.due.size + 1024) this.rebuild();
  }

  /** The earliest time any key is due. */
  peek(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  /** Takes the keys due at or before `now`, earliest first (ties in the order they were set). */
  takeDue(now: number): K[] {
    const out: K[] = [];
    for (let top = this.peekEntry(); top !== undefined && top.at <= now; top = this.peekEntry()) {
      this.pop();
      this.due.delete(top.key);
      out.push(top.key);
    }
    return out;
  }

  private peekEntry(): { at: number; key: K } | undefined {
    this.dropStale();
    return this.heap[0];
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.due.get(this.heap[0]!.key) !== this.heap[0]!.at) this.pop();
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, at] of this.due) this.push({ at, key, order: this.order++ });
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(entry: { at: number; key: K; order: number }): void {
    const h = this.heap;
    h.push(entry);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
