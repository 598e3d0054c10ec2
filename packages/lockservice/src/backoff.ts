/**
 * Retry delays that double from `firstMs` up to `capMs`, each drawn between half the delay and the
 * whole of it, so that the clients that lost the same master do not all retry in step.
 */
export class Backoff {
  private delayMs: number;

  constructor(
    private readonly firstMs: number,
    private readonly capMs: number,
    /** Uniform in [0, 1): the actor's `ctx.random`. */
    private readonly random: () => number,
  ) {
    this.delayMs = Math.min(firstMs, capMs);
  }

  /** The next wait (ms), and the one after doubles. */
  next(): number {
    const wait = this.delayMs / 2 + this.random() * (this.delayMs / 2);
    this.delayMs = Math.min(this.capMs, this.delayMs * 2);
    return Math.round(wait);
  }

  /** An answer came: the next failure starts from `firstMs` again. */
  reset(): void {
    this.delayMs = Math.min(this.firstMs, this.capMs);
  }
}
