/**
 * What a parent does when a child fails (throws in setup or receive). Restarting rebuilds the
 * child from its props (and its durable storage); the message that failed is not retried.
 * More than maxRestarts within withinMs stops the child instead: a crash loop is not progress.
 */
export interface SupervisorStrategy {
  onFailure: 'restart' | 'stop' | 'escalate' | 'resume';
  maxRestarts: number;
  withinMs: number;
}

export const defaultStrategy: SupervisorStrategy = { onFailure: 'restart', maxRestarts: 10, withinMs: 60_000 };

export type FailureDecision = 'restart' | 'stop' | 'escalate' | 'resume';

/**
 * Tracks restarts in a sliding window and turns a strategy into a decision for one failure.
 * Restart times only grow, so the ones that left the window are dropped from the front: a
 * decision costs O(1) amortized, even for a crash loop at a large maxRestarts.
 */
export class RestartWindow {
  private times: number[] = [];
  private head = 0;

  decide(strategy: SupervisorStrategy, now: number): FailureDecision {
    if (strategy.onFailure !== 'restart') return strategy.onFailure;
    while (this.head < this.times.length && now - this.times[this.head]! >= strategy.withinMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    if (this.times.length - this.head >= strategy.maxRestarts) return 'stop';
    this.times.push(now);
    return 'restart';
  }
}
