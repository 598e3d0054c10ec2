import { describe, expect, it } from '@jest/globals';
import { LockedOps } from '../src/master/locked-ops.ts';
import { LockQueueFullError } from '../src/namespace/locks.ts';

describe('namespace operations under path locks', () => {
  const answer = (log: string[], name: string) => ({ name, fail: (err: unknown) => log.push(`${name} failed: ${String(err)}`) });

  it('an operation waits while a held one keeps its locks, runs with its later answer once they are let go, and a failure goes to that answer', () => {
    const ops = new LockedOps<{ name: string; fail(err: unknown): void }>(10);
    const log: string[] = [];
    let held = 0;
    ops.run({ write: ['/d/f'] }, (_a, op) => ((held = op), 'held'), answer(log, 'now'), () => answer(log, 'never'));
    ops.run({ read: ['/d/f'] }, (a) => void log.push(`read by ${a.name}`), answer(log, 'now'), () => answer(log, 'later1'));
    ops.run({ write: ['/d/f'] }, () => {
      throw new Error('no such file');
    }, answer(log, 'now'), () => answer(log, 'later2'));
    ops.run({ write: ['/e'] }, (a) => void log.push(`elsewhere by ${a.name}`), answer(log, 'now'), () => answer(log, 'never'));
    expect(ops.waitingCount).toBe(2);
    expect(ops.free({ read: ['/d'] })).toBe(true);
    expect(ops.free({ write: ['/d/f'] })).toBe(false);
    ops.release(held);
    expect(log).toEqual(['elsewhere by now', 'read by later1', 'later2 failed: Error: no such file']);
    expect(ops.waitingCount).toBe(0);
    expect(ops.free({ write: ['/d/f'] })).toBe(true);
  });

  it('waiters are bounded; leaving office hands back their answers and frees every lock', () => {
    const ops = new LockedOps<{ name: string; fail(err: unknown): void }>(1);
    const log: string[] = [];
    ops.run({ write: ['/f'] }, () => 'held', answer(log, 'now'), () => answer(log, 'never'));
    ops.run({ write: ['/f'] }, () => undefined, answer(log, 'now'), () => answer(log, 'w1'));
    expect(() => ops.run({ write: ['/f'] }, () => undefined, answer(log, 'now'), () => answer(log, 'w2'))).toThrow(LockQueueFullError);
    expect(ops.clear().map((a) => a.name)).toEqual(['w1']);
    expect(ops.free({ write: ['/f'] })).toBe(true);
  });
});
