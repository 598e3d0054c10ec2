import { LockManager, locksFor, type OpId } from '../namespace/locks.ts';

/** Where an operation's answer goes; a failure the operation throws after its turn goes there too. */
export interface Failable {
  fail(err: unknown): void;
}

type Paths = { read?: string[]; write?: string[] };
type Run<A> = (answer: A, op: OpId) => void | 'held';

/**
 * Namespace operations under their path locks (read locks on ancestors, a read or write lock on
 * each leaf): one runs at once when its locks are free, else when the operation holding them (a
 * snapshot waiting for revocations) lets them go, in grant order. One that returns 'held' keeps
 * its locks past its turn and releases them itself. Waiters are bounded by the lock manager's
 * maxWaiters (one more is refused with LockQueueFullError). No I/O: answers are the caller's.
 */
export class LockedOps<A extends Failable> {
  private locks: LockManager;
  private nextOp: OpId = 1;
  private readonly waiting = new Map<OpId, { run: Run<A>; answer: A }>();

  constructor(private readonly maxWaiters: number) {
    this.locks = new LockManager(maxWaiters);
  }

  /** Runs `run` now with `now`, or queues it with the answer `later()` gives (called only then). */
  run(paths: Paths, run: Run<A>, now: A, later: () => A): void {
    const op = this.nextOp++;
    if (!this.locks.acquire(op, locksFor(paths))) {
      this.waiting.set(op, { run, answer: later() });
      return;
    }
    let kept = false;
    try {
      kept = run(now, op) === 'held';
    } finally {
      if (!kept) this.release(op);
    }
  }

  /** Releases an operation's locks and runs those the release lets through, in grant order (a throw fails that one's answer). */
  release(op: OpId): void {
    for (const next of this.locks.release(op)) {
      const { run, answer } = this.waiting.get(next)!;
      this.waiting.delete(next);
      let kept = false;
      try {
        kept = run(answer, next) === 'held';
      } catch (err) {
        answer.fail(err);
      } finally {
        if (!kept) this.release(next);
      }
    }
  }

  /** Whether the paths' locks are free now (nothing is held or queued by asking). */
  free(paths: Paths): boolean {
    const op = this.nextOp++;
    const free = this.locks.acquire(op, locksFor(paths));
    this.release(op);
    return free;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Out of office: every lock is dropped; returns the waiting operations' answers, to be failed. */
  clear(): A[] {
    const answers = [...this.waiting.values()].map((w) => w.answer);
    this.waiting.clear();
    this.locks = new LockManager(this.maxWaiters);
    return answers;
  }
}
