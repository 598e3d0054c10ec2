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

/** Tracks restarts in a sliding window and turns a strategy into a decision for one failure. */
export class RestartWindow {
  private times: number[] = [];

  decide(strategy: SupervisorStrategy, now: number): FailureDecision {
    if (strategy.onFailure !== 'restart') return strategy.onFailure;
    this.times = this.times.filter((t) => now - t < strategy.withinMs);
    if (this.times.length >= strategy.maxRestarts) return 'stop';
    this.times.push(now);
    return 'restart';
  }
}
