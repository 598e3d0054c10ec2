import { ancestorsOf, depthOf } from './path.ts';

export type LockMode = 'read' | 'write';
export interface PathLock {
  readonly path: string;
  readonly mode: LockMode;
}
export type OpId = number;

/**
 * The locks an operation takes, as in the paper: a read lock on every ancestor of each path it
 * touches, and a read or write lock on the path itself (write wins where both are asked). They
 * come ordered by depth, then lexicographically within a depth; every operation acquiring in
 * that one order is what keeps the lock manager free of deadlock.
 */
export function locksFor(paths: { read?: readonly string[]; write?: readonly string[] }): PathLock[] {
  const modes = new Map<string, LockMode>();
  const want = (path: string, mode: LockMode): void => {
    if (modes.get(path) !== 'write') modes.set(path, mode);
  };
  for (const [leaves, mode] of [
    [paths.read ?? [], 'read'],
    [paths.write ?? [], 'write'],
  ] as const) {
    for (const leaf of leaves) {
      for (const a of ancestorsOf(leaf)) want(a, 'read');
      want(leaf, mode);
    }
  }
  return [...modes].map(([path, mode]) => ({ path, mode })).sort(lockOrder);
}

export function lockOrder(a: PathLock, b: PathLock): number {
  return depthOf(a.path) - depthOf(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

export class LockQueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`namespace busy: ${limit} operations already wait for locks`);
    this.name = 'LockQueueFullError';
  }
}

interface PathState {
  readers: Set<OpId>;
  writer: OpId | undefined;
  /** Operations waiting for this path, first come first served. */
  queue: OpId[];
}

interface OpState {
  locks: readonly PathLock[];
  /** Locks [0, next) are held; the op waits for locks[next] when next < locks.length. */
  next: number;
}

/**
 * Per-path read/write locks for the master's namespace: pure and deterministic (no clock, no
 * I/O). An operation asks for its whole ordered lock list at once and takes the locks one by
 * one in that order; where one is not free it queues on that path (FIFO, so a waiting snapshot
 * is not starved by a stream of creates) and is resumed by the release that frees it. At most
 * maxWaiters operations wait at once; beyond that acquire refuses the operation.
 */
export class LockManager {
  private readonly paths = new Map<string, PathState>();
  private readonly ops = new Map<OpId, OpState>();
  private waiting = 0;

  constructor(private readonly maxWaiters: number) {}

  /** True when every lock is held now; false when the op waits (a later release grants it). */
  acquire(op: OpId, locks: readonly PathLock[]): boolean {
    if (this.ops.has(op)) throw new Error(`lock manager: operation ${op} already holds or waits for locks`);
    const sorted = [...locks].sort(lockOrder);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`lock manager: operation ${op} lists ${sorted[i]!.path} twice`);
    }
    this.ops.set(op, { locks: sorted, next: 0 });
    if (this.advance(op)) return true;
    this.waiting++;
    if (this.waiting > this.maxWaiters) {
      this.release(op);
      throw new LockQueueFullError(this.maxWaiters);
    }
    return false;
  }

  /** Releases every lock `op` holds (or gives up its wait); returns the ops this fully granted, in grant order. */
  release(op: OpId): OpId[] {
    const state = this.ops.get(op);
    if (!state) return [];
    this.ops.delete(op);
    const granted: OpId[] = [];
    const touched: string[] = [];
    state.locks.forEach((lock, i) => {
      const p = this.paths.get(lock.path)!;
      if (i < state.next) {
        p.readers.delete(op);
        if (p.writer === op) p.writer = undefined;
        touched.push(lock.path);
      } else if (i === state.next) {
        p.queue.splice(p.queue.indexOf(op), 1);
        this.waiting--;
        touched.push(lock.path);
      }
    });
    for (const path of touched) this.wake(path, granted);
    return granted;
  }

  /** Who holds a path now (for tests and status pages). */
  holders(path: string): { readers: OpId[]; writer: OpId | undefined; waiting: OpId[] } {
    const p = this.paths.get(path);
    return { readers: p ? [...p.readers] : [], writer: p?.writer, waiting: p ? [...p.queue] : [] };
  }

  isGranted(op: OpId): boolean {
    const s = this.ops.get(op);
    return s !== undefined && s.next === s.locks.length;
  }

  /** Paths with holders or waiters: the table shrinks back as locks are released. */
  get trackedPaths(): number {
    return this.paths.size;
  }

  /** Takes locks in order until one is busy (then queues there); true once all are held. */
  private advance(op: OpId): boolean {
    const s = this.ops.get(op)!;
    while (s.next < s.locks.length) {
      const lock = s.locks[s.next]!;
      const p = this.pathState(lock.path);
      if (p.queue.length > 0 || !compatible(p, lock.mode)) {
        p.queue.push(op);
        return false;
      }
      take(p, op, lock.mode);
      s.next++;
    }
    return true;
  }

  /** Grants the head of a path's queue while it fits; each granted op then goes on in its list. */
  private wake(path: string, granted: OpId[]): void {
    const p = this.paths.get(path);
    if (!p) return;
    while (p.queue.length > 0) {
      const head = p.queue[0]!;
      const s = this.ops.get(head)!;
      const mode = s.locks[s.next]!.mode;
      if (!compatible(p, mode)) break;
      p.queue.shift();
      this.waiting--;
      take(p, head, mode);
      s.next++;
      if (this.advance(head)) granted.push(head);
      else this.waiting++;
    }
    if (p.readers.size === 0 && p.writer === undefined && p.queue.length === 0) this.paths.delete(path);
  }

  private pathState(path: string): PathState {
    let p = this.paths.get(path);
    if (!p) {
      p = { readers: new Set(), writer: undefined, queue: [] };
      this.paths.set(path, p);
    }
    return p;
  }
}

function compatible(p: PathState, mode: LockMode): boolean {
  return p.writer === undefined && (mode === 'read' || p.readers.size === 0);
}

function take(p: PathState, op: OpId, mode: LockMode): void {
  if (mode === 'read') p.readers.add(op);
  else p.writer = op;
}
