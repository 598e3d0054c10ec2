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
 * Deadlines of pending asks, earliest first (ties: the ask made first), as a binary heap. An entry
 * of an ask settled meanwhile stays until it surfaces or the heap is rebuilt.
 */
class DeadlineHeap {
  private readonly at: number[] = [];
  private readonly corrs: number[] = [];

  get size(): number {
    return this.at.length;
  }

  /** The correlation id of the earliest entry, if any. */
  peek(): number | undefined {
    return this.corrs[0];
  }

  clear(): void {
    this.at.length = 0;
    this.corrs.length = 0;
  }

  push(at: number, corr: number): void {
    let i = this.at.length;
    this.at.push(at);
    this.corrs.push(corr);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const last = this.at.length - 1;
    this.swap(0, last);
    this.at.pop();
    this.corrs.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < last && this.before(l, least)) least = l;
      if (r < last && this.before(r, least)) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private before(i: number, j: number): boolean {
    return this.at[i]! < this.at[j]! || (this.at[i] === this.at[j] && this.corrs[i]! < this.corrs[j]!);
  }

  private swap(i: number, j: number): void {
    const at = this.at[i]!;
    this.at[i] = this.at[j]!;
    this.at[j] = at;
    const corr = this.corrs[i]!;
    this.corrs[i] = this.corrs[j]!;
    this.corrs[j] = corr;
  }
}

/**
 * The asks a node made that wait for their reply, by correlation id. Their deadlines share one
 * timer, armed for the earliest (a timer armed and cleared per ask cost about a third of a local
 * ask). The map is bounded by the asks made within the longest timeout, the heap by twice the
 * pending asks (past that it is rebuilt from them). An ask leaves the map when answered, timed
 * out, or failed with its node. While no ask is pending the timer stays armed but does not keep
 * the process alive (a node never shut down lets its process exit).
 */
/**
 * The first correlation id of a node's start, from its seed (fresh at every start: see
 * incarnationSeed). A reply handle (node, corr) must not repeat when a node starts again under its
 * name: a server that drops the network's copies of a request by its reply handle would take the
 * new start's asks for copies of the old one's and drop them. Each start counts up from its seed
 * times 2^20, so two starts' ids meet only if one makes more asks than 2^20 times the distance
 * between their seeds, and every id stays a safe integer.
 */
export function firstCorrOf(seed: number): number {
  return (seed >>> 0) * 2 ** 20 + 1;
}

export class PendingAsks {
  private readonly asks = new Map<number, PendingAsk>();
  private readonly deadlines = new DeadlineHeap();
  private nextCorr: number;
  private timer: TimerHandle | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  /** Whether the armed timer keeps the process alive: while some ask is pending. */
  private timerHeld = false;
  private readonly fireFn = (): void => this.fire();

  constructor(
    private readonly env: NodeEnv,
    firstCorr: number,
  ) {
    this.nextCorr = firstCorr;
  }

  get size(): number {
    return this.asks.size;
  }

  /** Registers an ask of msg to `target` (`id@node`) on `node`; returns its correlation id. */
  open(node: string, target: string, msg: unknown, timeoutMs: number, resolve: (v: unknown) => void, reject: (e: Error) => void): number {
    const corr = this.nextCorr++;
    const deadline = this.env.now() + timeoutMs;
    this.asks.set(corr, { corr, resolve, reject, node, target, msg, timeoutMs, deadline });
    if (this.deadlines.size > 2 * this.asks.size + 64) {
      this.deadlines.clear();
      for (const p of this.asks.values()) this.deadlines.push(p.deadline, p.corr);
    } else this.deadlines.push(deadline, corr);
    if (deadline < this.timerDue) this.arm(deadline, timeoutMs);
    else if (!this.timerHeld) this.hold(true);
    return corr;
  }

  settle(corr: number, isError: boolean, body: unknown): void {
    const p = this.asks.get(corr);
    if (!p) return; // timed out already, or a duplicate reply
    this.asks.delete(corr);
    // The timer stays armed: when it fires it finds nothing due, and is armed again only for a pending ask.
    if (this.asks.size === 0 && this.timerHeld) this.hold(false);
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
      this.deadlines.clear();
      this.disarm();
    }
  }

  private arm(deadline: number, delayMs: number): void {
    this.disarm();
    this.timerDue = deadline;
    this.timer = this.env.setTimer(this.fireFn, delayMs);
    this.timerHeld = true;
  }

  private hold(hold: boolean): void {
    if (this.timer === undefined) return;
    this.timerHeld = hold;
    this.env.holdTimer?.(this.timer, hold);
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
    for (let corr = this.deadlines.peek(); corr !== undefined; corr = this.deadlines.peek()) {
      const p = this.asks.get(corr);
      if (p !== undefined && p.deadline > now) return this.arm(p.deadline, p.deadline - now);
      this.deadlines.pop();
      if (p === undefined) continue; // settled meanwhile
      this.asks.delete(corr);
      this.env.promised?.();
      p.reject(new AskTimeoutError(p.target, messageTypeOf(p.msg) ?? typeof p.msg, p.timeoutMs));
    }
  }
}
