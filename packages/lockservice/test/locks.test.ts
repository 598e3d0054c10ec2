import { describe, expect, it } from '@jest/globals';
import { Cell, ROOT, testConfig } from './helpers.ts';

function twoSessionsOnOneLock(cell = new Cell()) {
  const [s1, s2] = [cell.session(), cell.session('bob')];
  return { cell, s1, s2, h1: cell.open(s1, 'lock'), h2: cell.open(s2, 'lock') };
}

describe('locks: exclusive and shared', () => {
  it('an exclusive holder excludes every other acquire, exclusive or shared', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    expect(cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }, 'LOCK_HELD')).toContain('held exclusive');
    cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'shared' }, 'LOCK_HELD');
    const h3 = cell.open(s1, 'lock');
    cell.fails({ type: 'acquire', session: s1, handle: h3, mode: 'shared' }, 'LOCK_HELD');
  });

  it('shared holders coexist and keep out an exclusive acquire until the last one releases', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    const s3 = cell.session('carol');
    const h3 = cell.open(s3, 'lock');
    const a = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared' }).sequencer;
    const b = cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'shared' }).sequencer;
    expect(b.generation).toBe(a.generation);
    cell.fails({ type: 'acquire', session: s3, handle: h3, mode: 'exclusive' }, 'LOCK_HELD');
    expect(cell.ok({ type: 'release', session: s1, handle: h1 }).freed).toEqual([]);
    cell.fails({ type: 'acquire', session: s3, handle: h3, mode: 'exclusive' }, 'LOCK_HELD');
    expect(cell.ok({ type: 'release', session: s2, handle: h2 }).freed).toEqual([{ path: `${ROOT}/lock`, availableAt: cell.time }]);
    cell.ok({ type: 'acquire', session: s3, handle: h3, mode: 'exclusive' });
  });

  it('release frees the lock at once for the next acquirer (no lock-delay)', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', lockDelayMs: 60_000 });
    cell.ok({ type: 'release', session: s1, handle: h1 });
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
  });

  it('closing a handle or a session releases its lock without lock-delay', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    expect(cell.ok({ type: 'close', session: s1, handle: h1 }).freed).toEqual([{ path: `${ROOT}/lock`, availableAt: cell.time }]);
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    cell.ok({ type: 'closeSession', session: s2 });
    const h = cell.open(s1, 'lock');
    cell.ok({ type: 'acquire', session: s1, handle: h, mode: 'exclusive' });
  });

  it('releasing a lock not held, or acquiring one already held by the handle, is an error', () => {
    const { cell, s1, h1 } = twoSessionsOnOneLock();
    expect(cell.fails({ type: 'release', session: s1, handle: h1 }, 'NOT_HELD')).toContain('does not hold');
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared' });
    expect(cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' }, 'ALREADY_HELD')).toContain('(shared)');
  });

  it('the same attempt asked again gets the grant it had, even after a release, and is never granted twice; another attempt does not', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    const granted = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 7 }).sequencer;
    expect(cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 7 }).sequencer).toEqual(granted);
    cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 8 }, 'ALREADY_HELD');
    cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' }, 'ALREADY_HELD');
    cell.ok({ type: 'release', session: s1, handle: h1 });
    // The lock is free, yet a copy of attempt 7 (its answer lost) learns its grant rather than taking the lock again.
    expect(cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 7 }).sequencer).toEqual(granted);
    expect(cell.db.inspect().nodes.get(`${ROOT}/lock`)!.holders.size).toBe(0);
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    expect(cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 7 }).sequencer).toEqual(granted);
  });

  it('a handle grants attempts in order: one older than its newest grant is not granted, as whether a copy of it was is no longer known', () => {
    const { cell, s1, h1 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 5, final: true });
    cell.ok({ type: 'release', session: s1, handle: h1 });
    expect(cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 4, final: true }, 'ATTEMPT_FORGOTTEN')).toMatch(/no longer known/);
    expect(cell.db.inspect().nodes.get(`${ROOT}/lock`)!.holders.size).toBe(0);
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 6, final: true });
  });

  it('a final try decides its attempt: a late copy of a refused one is refused, and one of a granted one learns the grant, even after a release', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 3, final: true }, 'LOCK_HELD');
    cell.ok({ type: 'release', session: s2, handle: h2 });
    // A copy of attempt 3 that a deposed master's Paxos client was still retrying.
    cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 3 }, 'ATTEMPT_DECIDED');
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 4, final: true });
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 4 });
    cell.ok({ type: 'release', session: s1, handle: h1 });
    // Granted, then released by another call of the handle: a copy learns the grant, and takes nothing.
    expect(cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 4 }).sequencer.generation).toBe(cell.db.inspect().nodes.get(`${ROOT}/lock`)!.lockGeneration);
    expect(cell.db.inspect().nodes.get(`${ROOT}/lock`)!.holders.size).toBe(0);
    // A blocking acquire's tries (not final) may be refused and granted later under the same attempt.
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    cell.fails({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 5 }, 'LOCK_HELD');
    cell.ok({ type: 'release', session: s2, handle: h2 });
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', attempt: 5 });
  });

  it("restores an older snapshot's attempt of the lock a handle holds as its last grant, and a handle holding none as having none", () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    const granted = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared', attempt: 9 }).sequencer;
    const pieces = [...cell.db.snapshot()].map((p) => {
      const piece = p as { piece: string; handles?: Array<Record<string, unknown> & { lastGrant: { attempt: number } | null }> };
      if (piece.piece !== 'handles') return p;
      return { ...piece, handles: piece.handles!.map(({ lastGrant, ...old }) => ({ ...old, lockAttempt: lastGrant?.attempt ?? 0 })) };
    });
    const copy = new Cell();
    copy.db.restore(pieces);
    expect(copy.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared', attempt: 9 }).sequencer).toEqual(granted);
    copy.fails({ type: 'acquire', session: s1, handle: h1, mode: 'shared', attempt: 8 }, 'ATTEMPT_FORGOTTEN');
    expect(copy.ok({ type: 'acquire', session: s2, handle: h2, mode: 'shared', attempt: 1 }).sequencer).toEqual(granted);
  });

  it('each time the lock goes from free to held it gets a new, greater lock generation', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    const g1 = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' }).sequencer.generation;
    cell.ok({ type: 'release', session: s1, handle: h1 });
    const g2 = cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }).sequencer.generation;
    expect(g2).toBeGreaterThan(g1);
    expect(cell.read({ type: 'stat', session: s1, handle: h1 }).stat.lockGeneration).toBe(g2);
  });

  it('deleting a locked node releases its lock with the node', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    expect(cell.ok({ type: 'delete', session: s1, handle: h1 }).freed).toEqual([{ path: `${ROOT}/lock`, availableAt: cell.time }]);
    expect(cell.db.inspect().handles.has(h2)).toBe(false);
  });
});

describe('lock-delay', () => {
  it("keeps a lost holder's lock for the delay after its session expires", () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    const expiredAt = cell.time;
    cell.ok({ type: 'expireSession', session: s1 });
    cell.time = expiredAt + 999;
    expect(cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }, 'LOCK_DELAY')).toContain('lock-delay for 1 ms more');
    cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'shared' }, 'LOCK_DELAY');
    cell.time = expiredAt + 1000;
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
  });

  it('uses the lock-delay the holder asked for at acquire (0 to 60 s), else the cell default', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock(new Cell(testConfig({ defaultLockDelayMs: 5000 })));
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive', lockDelayMs: 0 });
    cell.ok({ type: 'expireSession', session: s1 });
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
    cell.ok({ type: 'expireSession', session: s2 });
    const s3 = cell.session('carol');
    const h3 = cell.open(s3, 'lock');
    cell.time += 4999;
    cell.fails({ type: 'acquire', session: s3, handle: h3, mode: 'exclusive' }, 'LOCK_DELAY');
    cell.time += 1;
    cell.ok({ type: 'acquire', session: s3, handle: h3, mode: 'exclusive' });
    expect(cell.fails({ type: 'acquire', session: s3, handle: cell.open(s3, 'other'), mode: 'exclusive', lockDelayMs: 60_001 }, 'BAD_REQUEST')).toContain('from 0 to 60000');
  });

  it('a leader timestamp that goes back (a new leader with a slower clock) does not shorten the delay', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    cell.time = 50_000;
    cell.ok({ type: 'expireSession', session: s1 });
    cell.time = 10_000; // back by 40 s: the database's time stays at 50,000
    cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }, 'LOCK_DELAY');
    expect(cell.db.inspect().now).toBe(50_000);
    cell.time = 51_000;
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
  });

  it("names the delay's end as fields of the LOCK_DELAY error (acquire and delete), not only in its text", () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    const expiredAt = cell.time;
    cell.ok({ type: 'expireSession', session: s1 });
    cell.time = expiredAt + 400;
    for (const op of [{ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }, { type: 'delete', session: s2, handle: h2 }] as const) {
      expect(cell.apply(op)).toMatchObject({ ok: false, error: { code: 'LOCK_DELAY', availableAt: expiredAt + 1000, retryAfterMs: 600 } });
    }
  });

  it('a lock in lock-delay cannot be escaped by deleting and re-creating its file', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    cell.ok({ type: 'expireSession', session: s1 });
    expect(cell.fails({ type: 'delete', session: s2, handle: h2 }, 'LOCK_DELAY')).toContain('cannot be deleted while its lock is in lock-delay (1000 ms more)');
    cell.time += 1000;
    cell.ok({ type: 'delete', session: s2, handle: h2 });
  });

  it('a shared holder that expires delays the lock for everyone once the others are gone', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared' });
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'shared' });
    expect(cell.ok({ type: 'expireSession', session: s1 }).freed).toEqual([]);
    expect(cell.ok({ type: 'release', session: s2, handle: h2 }).freed).toEqual([{ path: `${ROOT}/lock`, availableAt: cell.time + 1000 }]);
    cell.fails({ type: 'acquire', session: s2, handle: h2, mode: 'shared' }, 'LOCK_DELAY');
  });
});

describe('held locks, as an operator reads them', () => {
  it('names each held lock with its mode, generation and holders (principal and session), one path or all, and forgets a released one', () => {
    const { cell, s1, s2, h1, h2 } = twoSessionsOnOneLock();
    const h3 = cell.open(s1, 'other');
    const a = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'shared' }).sequencer;
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'shared' });
    const b = cell.ok({ type: 'acquire', session: s1, handle: h3, mode: 'exclusive' }).sequencer;
    const lock = { path: `${ROOT}/lock`, mode: 'shared', generation: a.generation, holders: [{ session: s1, principal: 'alice' }, { session: s2, principal: 'bob' }] };
    const other = { path: `${ROOT}/other`, mode: 'exclusive', generation: b.generation, holders: [{ session: s1, principal: 'alice' }] };
    expect(cell.read({ type: 'heldLocks' })).toEqual({ locks: [lock, other], more: false });
    expect(cell.read({ type: 'heldLocks', path: `${ROOT}/other` })).toEqual({ locks: [other], more: false });
    cell.ok({ type: 'release', session: s1, handle: h3 });
    expect(cell.read({ type: 'heldLocks', path: `${ROOT}/other` })).toEqual({ locks: [], more: false });
    expect(cell.read({ type: 'heldLocks', path: `${ROOT}/absent` })).toEqual({ locks: [], more: false });
  });
});
