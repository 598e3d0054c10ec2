import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { LockManager, LockQueueFullError, locksFor, type OpId, type PathLock } from '../src/namespace/locks.ts';

const create = (path: string): PathLock[] => locksFor({ write: [path] });
/** The paper's snapshot: write locks on the source and the target (read locks on their ancestors). */
const snapshot = (source: string, target: string): PathLock[] => locksFor({ write: [source, target] });

describe('namespace locks', () => {
  it('an operation read-locks every ancestor and locks the leaf, ordered by depth then name', () => {
    expect(locksFor({ write: ['/save/user', '/home/user'] })).toEqual([
      { path: '/', mode: 'read' },
      { path: '/home', mode: 'read' },
      { path: '/save', mode: 'read' },
      { path: '/home/user', mode: 'write' },
      { path: '/save/user', mode: 'write' },
    ]);
    // a path both read (as an ancestor) and written keeps the write lock
    expect(locksFor({ read: ['/a/b'], write: ['/a'] })).toEqual([
      { path: '/', mode: 'read' },
      { path: '/a', mode: 'write' },
      { path: '/a/b', mode: 'read' },
    ]);
  });

  it('concurrent creates in one directory proceed in parallel', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, create('/home/user/a'))).toBe(true);
    expect(m.acquire(2, create('/home/user/b'))).toBe(true);
    expect(m.acquire(3, locksFor({ read: ['/home/user/c'] }))).toBe(true);
    expect(m.holders('/home/user').readers.sort()).toEqual([1, 2, 3]);
  });

  it('a second create of the same file waits for the first (write lock on the name)', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, create('/d/f'))).toBe(true);
    expect(m.acquire(2, create('/d/f'))).toBe(false);
    expect(m.release(1)).toEqual([2]);
    expect(m.isGranted(2)).toBe(true);
  });

  it('a snapshot excludes creates under its source: it waits for running ones, and later ones wait for it', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, create('/home/user/a'))).toBe(true);
    expect(m.acquire(2, snapshot('/home/user', '/save/user'))).toBe(false);
    // a create arriving while the snapshot waits queues behind it (no starvation of the snapshot)
    expect(m.acquire(3, create('/home/user/b'))).toBe(false);
    expect(m.release(1)).toEqual([2]);
    expect(m.holders('/home/user').writer).toBe(2);
    expect(m.isGranted(3)).toBe(false);
    expect(m.release(2)).toEqual([3]);
    // and a create in the snapshot's target directory waits too
    expect(m.acquire(4, snapshot('/home/user', '/save/user'))).toBe(false);
    // the snapshot waits at /home/user and has not reached /save/user yet (locks go in order),
    // so a create there still runs; the snapshot then waits for it
    expect(m.acquire(5, create('/save/user/x'))).toBe(true);
    expect(m.release(3)).toEqual([]);
    expect(m.holders('/save/user').waiting).toEqual([4]);
    expect(m.release(5)).toEqual([4]);
    expect(m.acquire(6, create('/save/user/y'))).toBe(false);
    expect(m.release(4)).toEqual([6]);
  });

  it('a snapshot does not block creates elsewhere', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, snapshot('/home/user', '/save/user'))).toBe(true);
    expect(m.acquire(2, create('/home/other/x'))).toBe(true);
    expect(m.acquire(3, create('/save/x'))).toBe(true);
  });

  it('readers queued behind a writer are all granted together when it leaves', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, locksFor({ write: ['/d'] }))).toBe(true);
    expect(m.acquire(2, create('/d/a'))).toBe(false);
    expect(m.acquire(3, create('/d/b'))).toBe(false);
    expect(m.release(1)).toEqual([2, 3]);
  });

  it('an operation that gives up its wait lets the ones behind it go', () => {
    const m = new LockManager(100);
    expect(m.acquire(1, create('/d/a'))).toBe(true);
    expect(m.acquire(2, locksFor({ write: ['/d'] }))).toBe(false);
    expect(m.acquire(3, create('/d/b'))).toBe(false);
    expect(m.release(2)).toEqual([3]);
  });

  it('the waiting queue is bounded: beyond it an operation is refused and holds nothing', () => {
    const m = new LockManager(2);
    expect(m.acquire(1, locksFor({ write: ['/d'] }))).toBe(true);
    expect(m.acquire(2, create('/d/a'))).toBe(false);
    expect(m.acquire(3, create('/d/b'))).toBe(false);
    expect(() => m.acquire(4, create('/d/c'))).toThrow(LockQueueFullError);
    expect(m.holders('/').readers).not.toContain(4);
    expect(m.release(1)).toEqual([2, 3]);
    expect(m.acquire(4, create('/d/c'))).toBe(true);
  });

  it('any interleaving of creates, deletes, renames and snapshots never grants conflicting locks and never deadlocks', () => {
    const dirs = ['/a', '/a/b', '/a/b/c', '/x', '/x/y'];
    const names = ['f', 'g', 'h'];
    for (let seed = 1; seed <= 200; seed++) {
      const rand = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const leaf = (): string => `${pick(dirs)}/${pick(names)}`;
      const m = new LockManager(1000);
      const granted = new Set<OpId>();
      const waiting = new Set<OpId>();
      const locks = new Map<OpId, PathLock[]>();
      for (let op = 1; op <= 60; op++) {
        const kind = rand();
        const ls =
          kind < 0.4 ? create(leaf()) : kind < 0.6 ? snapshot(pick(dirs), pick(dirs) === '/a' ? '/s1' : '/s2') : kind < 0.8 ? locksFor({ write: [leaf(), leaf()] }) : locksFor({ read: [leaf()] });
        // snapshot of a dir onto itself lists a path twice: skip such draws
        if (new Set(ls.map((l) => l.path)).size !== ls.length) continue;
        locks.set(op, ls);
        (m.acquire(op, ls) ? granted : waiting).add(op);
        // release a random granted op now and then
        while (granted.size > 0 && rand() < 0.5) {
          const done = pick([...granted]);
          granted.delete(done);
          for (const g of m.release(done)) {
            waiting.delete(g);
            granted.add(g);
          }
        }
        checkNoConflicts(granted, locks);
      }
      // drain: releasing granted ops must eventually grant every waiter
      while (granted.size > 0) {
        const done = [...granted][0]!;
        granted.delete(done);
        for (const g of m.release(done)) {
          waiting.delete(g);
          granted.add(g);
        }
        checkNoConflicts(granted, locks);
      }
      expect({ seed, waiting: [...waiting] }).toEqual({ seed, waiting: [] });
      expect(m.trackedPaths).toBe(0);
    }
  });
});

function checkNoConflicts(granted: Set<OpId>, locks: Map<OpId, PathLock[]>): void {
  const writers = new Map<string, OpId>();
  const readers = new Map<string, OpId>();
  for (const op of granted) {
    for (const l of locks.get(op)!) {
      // plain checks: expect() a million times would take most of a minute
      const other = l.mode === 'write' ? (writers.get(l.path) ?? readers.get(l.path)) : writers.get(l.path);
      if (other !== undefined) throw new Error(`ops ${other} and ${op} both hold ${l.path}, one of them for writing`);
      (l.mode === 'write' ? writers : readers).set(l.path, op);
    }
  }
}
