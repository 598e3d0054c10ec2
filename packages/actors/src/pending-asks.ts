import { messageTypeOf } from './dead-letters.ts';
import { AskTimeoutError } from './errors.ts';
import { errorFrom } from './error-replies.ts';
import type { NodeEnv, TimerHandle } from './node-host.ts';

interface PendingAsk {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
  node: string;
  target: string;
}

/**
 * The asks a node made that wait for their reply, by correlation id. Each has a timer, so the
 * map is bounded by the asks made within the longest timeout; an ask leaves it when answered,
 * timed out, or failed with its node.
 */
export class PendingAsks {
  private readonly asks = new Map<number, PendingAsk>();
  private nextCorr = 1;

  constructor(private readonly env: NodeEnv) {}

  get size(): number {
    return this.asks.size;
  }

  /** Registers an ask of msg to `target` (`id@node`) on `node`; returns its correlation id. */
  open(node: string, target: string, msg: unknown, timeoutMs: number, resolve: (v: unknown) => void, reject: (e: Error) => void): number {
    const corr = this.nextCorr++;
    const timer = this.env.setTimer(() => {
      if (!this.asks.delete(corr)) return;
      this.env.promised?.();
      reject(new AskTimeoutError(target, messageTypeOf(msg) ?? typeof msg, timeoutMs));
    }, timeoutMs);
    this.asks.set(corr, { resolve, reject, timer, node, target });
    return corr;
  }

  settle(corr: number, isError: boolean, body: unknown): void {
    const p = this.asks.get(corr);
    if (!p) return; // timed out already, or a duplicate reply
    this.asks.delete(corr);
    this.env.clearTimer(p.timer);
    this.env.promised?.();
    if (!isError) p.resolve(body);
    else p.reject(errorFrom(p.target, body));
  }

  /** Fails the asks to `node` (every ask when undefined) with the error made for each target. */
  failAll(node: string | undefined, error: (target: string) => Error): void {
    for (const [corr, p] of this.asks) {
      if (node !== undefined && p.node !== node) continue;
      this.asks.delete(corr);
      this.env.clearTimer(p.timer);
      this.env.promised?.();
      p.reject(error(p.target));
    }
  }
}
