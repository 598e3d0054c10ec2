/**
 * The master's blocking acquire, as a pure core (`step(input, now) -> effects`). The database
 * only tries (granted or refused now); this queues the waiters of each lock in arrival order,
 * keeps one try per lock in the log at a time, tries the head again when a result reports the
 * lock freed (or when its lock-delay ends), lets waiting shared acquirers join a shared
 * holder, and times waiters out. Waiters live in the master's memory only: after a failover
 * clients acquire again.
 */
import type { LockMode, SessionId } from './protocol.ts';
import { unreachable } from './unreachable.ts';

export interface Waiter<R> {
  /** Whatever the host needs to answer the client. */
  to: R;
  session: SessionId;
  handle: number;
  mode: LockMode;
  lockDelayMs?: number;
  attempt?: number;
  /** When to give up (master's clock). */
  deadline: number;
}

export interface WaiterLimits {
  /** Waiters of one lock at most; one more is refused. */
  maxWaitersPerLock: number;
  /** Waiters of all locks at most; one more is refused. */
  maxWaiters: number;
}

export const DEFAULT_WAITER_LIMITS: WaiterLimits = { maxWaitersPerLock: 10_000, maxWaiters: 100_000 };

/** What the try of a lock's head waiter came to, from the database's answer. */
export type TryOutcome =
  | { outcome: 'granted' }
  /** LOCK_HELD: wait until a result reports the lock freed. */
  | { outcome: 'held' }
  /** LOCK_DELAY: try again at `availableAt`. */
  | { outcome: 'delayed'; availableAt: number }
  /** Any other refusal (handle closed, permission): the host answers it; the waiter is done. */
  | { outcome: 'failed' };

export type WaitersInput<R> =
  | { type: 'acquire'; lock: string; waiter: Waiter<R> }
  | ({ type: 'tried'; lock: string } & TryOutcome)
  /** A result (release, close, expiry, delete) reported the lock free from `availableAt`. */
  | { type: 'freed'; lock: string; availableAt: number }
  /** Locks may have been freed without the master hearing which (a session's end whose answer was lost): every waited lock is tried again. */
  | { type: 'mayBeFreed' }
  | { type: 'sessionEnded'; session: SessionId }
  | { type: 'lostMastership' }
  | { type: 'tick' };

export type WaitersEffect<R> =
  /** Propose an acquire for this waiter; answer `tried` with what the database said. */
  | { type: 'propose'; lock: string; waiter: Waiter<R> }
  | { type: 'timedOut'; waiter: Waiter<R> }
  | { type: 'refuse'; waiter: Waiter<R>; reason: RefusalReason };

/**
 * `notMaster`: nothing of the waiter reached the log. `outcomeUnknown`: mastership was lost while
 * its try was in the log, which a later master may still grant: its client must ask again.
 */
export type RefusalReason = 'tooManyWaiters' | 'sessionEnded' | 'notMaster' | 'outcomeUnknown';

interface Queue<R> {
  waiters: Waiter<R>[];
  /** The head's try is in the log. */
  trying: boolean;
  /** Not before this (lock-delay). */
  availableAt: number;
  /** The head was refused as held: wait for `freed`. */
  blocked: boolean;
  /**
   * A free was reported while the head's try was under way. Answers may come in another order than
   * the log's (a slot's plain proposes are answered before its propose-batches, a retried try's
   * answer comes late): the try, refused as held or granted, may have been applied before that
   * free, so the queue is not blocked after it (the head is tried again: at worst a refusal more);
   * blocked, nothing would wake it.
   */
  freedWhileTrying: boolean;
}

export class LockWaiters<R> {
  private readonly queues = new Map<string, Queue<R>>();
  private count = 0;

  constructor(readonly limits: WaiterLimits = DEFAULT_WAITER_LIMITS) {}

  step(input: WaitersInput<R>, now: number): WaitersEffect<R>[] {
    const effects: WaitersEffect<R>[] = [];
    switch (input.type) {
      case 'acquire': {
        const queue = this.queues.get(input.lock) ?? { waiters: [], trying: false, availableAt: 0, blocked: false, freedWhileTrying: false };
        if (queue.waiters.length >= this.limits.maxWaitersPerLock || this.count >= this.limits.maxWaiters) {
          effects.push({ type: 'refuse', waiter: input.waiter, reason: 'tooManyWaiters' });
          break;
        }
        this.queues.set(input.lock, queue);
        queue.waiters.push(input.waiter);
        this.count++;
        this.tryHead(input.lock, queue, now, effects);
        break;
      }
      case 'tried': {
        const queue = this.queues.get(input.lock);
        if (!queue || !queue.trying) break;
        queue.trying = false;
        const head = queue.waiters[0]!;
        if (input.outcome === 'granted' || input.outcome === 'failed') {
          this.remove(input.lock, queue, 0);
          // A shared grant lets the next shared waiter join at once.
          if (input.outcome === 'granted' && head.mode === 'shared' && queue.waiters[0]?.mode === 'shared') queue.blocked = false;
          else if (input.outcome === 'granted') queue.blocked = true;
        } else if (input.outcome === 'held') {
          queue.blocked = true;
        } else {
          queue.availableAt = Math.max(queue.availableAt, input.availableAt);
        }
        if (queue.freedWhileTrying) queue.blocked = false;
        this.tryHead(input.lock, queue, now, effects);
        break;
      }
      case 'freed': {
        const queue = this.queues.get(input.lock);
        if (!queue) break;
        unblock(queue);
        queue.availableAt = Math.max(queue.availableAt, input.availableAt);
        this.tryHead(input.lock, queue, now, effects);
        break;
      }
      case 'mayBeFreed':
        for (const [lock, queue] of this.queues) {
          unblock(queue);
          this.tryHead(lock, queue, now, effects);
        }
        break;
      case 'sessionEnded':
        for (const [lock, queue] of this.queues) {
          for (let i = queue.waiters.length - 1; i >= 0; i--) {
            if (queue.waiters[i]!.session !== input.session || (i === 0 && queue.trying)) continue;
            effects.push({ type: 'refuse', waiter: queue.waiters[i]!, reason: 'sessionEnded' });
            this.remove(lock, queue, i);
          }
        }
        break;
      case 'lostMastership':
        for (const queue of this.queues.values()) {
          queue.waiters.forEach((waiter, i) => effects.push({ type: 'refuse', waiter, reason: i === 0 && queue.trying ? 'outcomeUnknown' : 'notMaster' }));
        }
        this.queues.clear();
        this.count = 0;
        break;
      case 'tick':
        for (const [lock, queue] of this.queues) {
          // The head's try, once in the log, is answered by its result, whenever that comes.
          for (let i = queue.waiters.length - 1; i >= (queue.trying ? 1 : 0); i--) {
            if (queue.waiters[i]!.deadline > now) continue;
            effects.push({ type: 'timedOut', waiter: queue.waiters[i]! });
            this.remove(lock, queue, i);
          }
          this.tryHead(lock, queue, now, effects);
        }
        break;
      default:
        return unreachable(input, 'lock waiters');
    }
    return effects;
  }

  /** When to tick next: the earliest waiter deadline or lock-delay end, or undefined. */
  nextWakeAt(): number | undefined {
    // The master asks after every command and KeepAlive: a plain loop, no closure per call.
    let next = Infinity;
    for (const queue of this.queues.values()) {
      // A head whose try is under way is not timed out (its try answers it): its deadline is no wake-up, or the host would spin.
      for (let i = queue.trying ? 1 : 0; i < queue.waiters.length; i++) next = Math.min(next, queue.waiters[i]!.deadline);
      if (!queue.trying && !queue.blocked && queue.availableAt > 0) next = Math.min(next, queue.availableAt);
    }
    return next === Infinity ? undefined : next;
  }

  /** Waiters queued in all. */
  get size(): number {
    return this.count;
  }

  private tryHead(lock: string, queue: Queue<R>, now: number, effects: WaitersEffect<R>[]): void {
    const head = queue.waiters[0];
    if (head === undefined || queue.trying || queue.blocked || now < queue.availableAt) return;
    queue.trying = true;
    queue.freedWhileTrying = false;
    effects.push({ type: 'propose', lock, waiter: head });
  }

  private remove(lock: string, queue: Queue<R>, index: number): void {
    queue.waiters.splice(index, 1);
    this.count--;
    if (queue.waiters.length === 0 && !queue.trying) this.queues.delete(lock);
  }
}

/** A lock reported freed (or maybe freed): its head may be tried, and a try under way does not block the queue after it. */
function unblock(queue: Queue<unknown>): void {
  queue.blocked = false;
  if (queue.trying) queue.freedWhileTrying = true;
}
