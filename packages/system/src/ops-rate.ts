/**
 * Operations per second over the last `seconds` seconds: one counter per second in a ring, so
 * memory stays fixed however long the process runs (older seconds are overwritten).
 */
export class OpsRate {
  private readonly counts: Float64Array;
  private readonly stamps: Float64Array;

  constructor(
    readonly seconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  add(n = 1): void {
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += n;
  }

  /** The last `seconds` whole seconds, oldest first, as [unix second, count] (0 for a quiet second). */
  series(): Array<[number, number]> {
    const current = Math.floor(this.now() / 1000);
    const out: Array<[number, number]> = [];
    for (let second = current - this.seconds; second < current; second++) {
      const slot = second % this.seconds;
      out.push([second, this.stamps[slot] === second ? this.counts[slot]! : 0]);
    }
    return out;
  }
}
