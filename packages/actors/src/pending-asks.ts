import { messageTypeOf } from './dead-letters.ts';
import { AskTimeoutError } from './errors.ts';
import { errorFrom } from './error-replies.ts';
import type { NodeEnv, TimerHandle } from './node-host.ts';

interface PendingAsk {
  corr: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  node: string;
  target: string;
  msg: unknown;
  timeoutMs: number;
  /** On this node's clock. */
  deadline: number;
}

/**
 * The correlation ids of the asks made with one timeout, in the order they were made: so in
 * deadline order. An id stays until it reaches the head; a settled one is then skipped.
 */
class DeadlineLine {
  private corrs: number[] = [];
  private head = 0;

  push(corr: number): void {
    this.corrs.push(corr);
  }

  /** The first id still pending, after dropping the settled ones before it. */
  first(pending: Map<number, PendingAsk>): PendingAsk | undefined {
    while (this.head < this.corrs.length) {
      const p = pending.get(this.corrs[this.head]!);
      if (p !== undefined) return p;
      this.head++;
    }
    if (this.head > 0) {
      this.corrs = [];
      this.head = 0;
    }
    return undefined;
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.corrs.length) {
      this.corrs = this.corrs.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The asks a node made that wait for their reply, by correlation id. Their deadlines share one
 * timer, armed for the earliest (a timer per ask cost about as much as the rest of the ask's
 * bookkeeping): asks made with the same timeout are due in the order they were made, so each
 * timeout keeps a line in that order. The map is bounded by the asks made within the longest
 * timeout; a line, by the asks made since its oldest pending one. An ask leaves the map when
 * answered, timed out, or failed with its node.
 */
export class PendingAsks {
  private readonly asks = new Map<number, PendingAsk>();
  private readonly lines = new Map<number, DeadlineLine>();
  private nextCorr = 1;
  private timer: TimerHandle | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private readonly fireFn = (): void => this.fire();

  constructor(private readonly env: NodeEnv) {}

  get size(): number {
    return this.asks.size;
  }

  /** Registers an ask of msg to `target` (`id@node`) on `node`; returns its correlation id. */
  open(node: string, target: string, msg: unknown, timeoutMs: number, resolve: (v: unknown) => void, reject: (e: Error) => void): number {
    const corr = this.nextCorr++;
    const deadline = this.env.now() + timeoutMs;
    this.asks.set(corr, { corr, resolve, reject, node, target, msg, timeoutMs, deadline });
    let line = this.lines.get(timeoutMs);
    if (line === undefined) this.lines.set(timeoutMs, (line = new DeadlineLine()));
    line.push(corr);
    if (deadline < this.timerDue) this.arm(deadline, timeoutMs);
    return corr;
  }

  settle(corr: number, isError: boolean, body: unknown): void {
    const p = this.asks.get(corr);
    if (!p) return; // timed out already, or a duplicate reply
    this.asks.delete(corr);
    // The timer stays armed: it finds nothing due and is armed again only for a pending ask.
    this.env.promised?.();
    if (!isError) p.resolve(body);
    else p.reject(errorFrom(p.target, body));
  }

  /** Fails the asks to `node` (every ask when undefined) with the error made for each target. */
  failAll(node: string | undefined, error: (target: string) => Error): void {
    for (const [corr, p] of this.asks) {
      if (node !== undefined && p.node !== node) continue;
      this.asks.delete(corr);
      this.env.promised?.();
      p.reject(error(p.target));
    }
    if (this.asks.size === 0) {
      this.lines.clear();
      this.disarm();
    }
  }

  private arm(deadline: number, delayMs: number): void {
    this.disarm();
    this.timerDue = deadline;
    this.timer = this.env.setTimer(this.fireFn, delayMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.env.clearTimer(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
  }

  /** Times out every ask that is due, then arms the timer for the next deadline, if any. */
  private fire(): void {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = this.env.now();
    let next: PendingAsk | undefined;
    for (const [timeoutMs, line] of this.lines) {
      let p = line.first(this.asks);
      while (p !== undefined && p.deadline <= now) {
        line.shift();
        this.asks.delete(p.corr);
        this.env.promised?.();
        p.reject(new AskTimeoutError(p.target, messageTypeOf(p.msg) ?? typeof p.msg, p.timeoutMs));
        p = line.first(this.asks);
      }
      if (p === undefined) this.lines.delete(timeoutMs);
      else if (next === undefined || p.deadline < next.deadline) next = p;
    }
    if (next !== undefined) this.arm(next.deadline, next.deadline - now);
  }
}
