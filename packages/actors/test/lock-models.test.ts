import { describe, expect, it } from '@jest/globals';
import { UNKNOWN, checkOperations } from '../src/testing/linearizability.ts';
import type { Operation } from '../src/testing/linearizability.ts';
import { fileModel, lockModel } from '../src/testing/models.ts';
import type { FileInput, FileOutput, LockInput, LockMode, LockOutput } from '../src/testing/models.ts';
import { bruteForce, mulberry32 } from './brute-force.ts';

type LOp = Operation<LockInput<string>, LockOutput>;
const locks = lockModel<string>();

const acquire = (holder: number, mode: LockMode, output: LockOutput, call: number, ret: number, lock = 'L'): LOp => ({ clientId: holder, input: { op: 'acquire', lock, holder, mode }, output, call, ret });
const tryAcquire = (holder: number, mode: LockMode, output: LockOutput, call: number, ret: number, lock = 'L'): LOp => ({ clientId: holder, input: { op: 'tryAcquire', lock, holder, mode }, output, call, ret });
const release = (holder: number, output: boolean, call: number, ret: number, lock = 'L'): LOp => ({ clientId: holder, input: { op: 'release', lock, holder }, output, call, ret });
const expire = (holder: number, call: number, ret: number): LOp => ({ clientId: `master-${holder}`, input: { op: 'expire', holder }, output: undefined, call, ret });
const pending = (op: LOp): LOp => ({ ...op, output: UNKNOWN, ret: Infinity });
const linearizable = (ops: LOp[]) => checkOperations(locks, ops).ok;

describe('lock model: exclusive locks', () => {
  it('accepts acquire, release, acquire by another', () => {
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), release(1, true, 2, 3), acquire(2, 'exclusive', 2, 4, 5)])).toBe(true);
  });

  it('rejects a second exclusive holder while the first has not released', () => {
    const ops = [acquire(1, 'exclusive', 1, 0, 1), acquire(2, 'exclusive', 2, 2, 3)];
    const result = checkOperations(locks, ops);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.reason).toContain('acquire("L", 2, exclusive) -> 2');
  });

  it('accepts a blocking acquire that was granted after a concurrent release', () => {
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), acquire(2, 'exclusive', 2, 2, 10), release(1, true, 3, 4)])).toBe(true);
  });

  it('accepts a refused tryAcquire only while a conflicting holder exists', () => {
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), tryAcquire(2, 'shared', false, 2, 3)])).toBe(true);
    expect(linearizable([tryAcquire(2, 'exclusive', false, 0, 1)])).toBe(false);
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), release(1, true, 2, 3), tryAcquire(2, 'exclusive', false, 4, 5)])).toBe(false);
  });

  it('a release answers true only for a holder', () => {
    expect(linearizable([release(1, false, 0, 1)])).toBe(true);
    expect(linearizable([release(1, true, 0, 1)])).toBe(false);
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), release(2, true, 2, 3)])).toBe(false);
  });

  it('an expired holder loses its locks, and only then may another take them', () => {
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), expire(1, 2, 3), acquire(2, 'exclusive', 2, 4, 5), release(1, false, 6, 7)])).toBe(true);
    expect(linearizable([acquire(1, 'exclusive', 1, 0, 1), acquire(2, 'exclusive', 2, 4, 5)])).toBe(false);
  });

  it('a pending acquire may have taken the lock, which explains a later refusal', () => {
    expect(linearizable([pending(acquire(1, 'exclusive', 1, 0, 0)), tryAcquire(2, 'exclusive', false, 2, 3)])).toBe(true);
    expect(linearizable([tryAcquire(2, 'exclusive', false, 0, 1), pending(acquire(1, 'exclusive', 1, 2, 2))])).toBe(false);
  });
});

describe('lock model: shared locks and generations', () => {
  it('shared holders coexist and share the generation; an exclusive acquire is refused meanwhile', () => {
    expect(linearizable([acquire(1, 'shared', 4, 0, 1), acquire(2, 'shared', 4, 2, 3), tryAcquire(3, 'exclusive', false, 4, 5)])).toBe(true);
    expect(linearizable([acquire(1, 'shared', 4, 0, 1), acquire(2, 'shared', 5, 2, 3)])).toBe(false);
    expect(linearizable([acquire(1, 'shared', 4, 0, 1), acquire(2, 'exclusive', 5, 2, 3)])).toBe(false);
  });

  it('a lock taken again from free gets a greater generation', () => {
    expect(linearizable([acquire(1, 'exclusive', 5, 0, 1), release(1, true, 2, 3), acquire(2, 'exclusive', 3, 4, 5)])).toBe(false);
    expect(linearizable([acquire(1, 'exclusive', 5, 0, 1), release(1, true, 2, 3), acquire(2, 'exclusive', 9, 4, 5)])).toBe(true);
  });

  it('a joining shared holder may reveal the generation of a lock taken by a pending acquire', () => {
    expect(linearizable([acquire(1, 'exclusive', 2, 0, 1), release(1, true, 2, 3), pending(acquire(2, 'shared', 0, 4, 4)), acquire(3, 'shared', 7, 5, 6)])).toBe(true);
    expect(linearizable([acquire(1, 'exclusive', 2, 0, 1), release(1, true, 2, 3), pending(acquire(2, 'shared', 0, 4, 4)), acquire(3, 'shared', 2, 5, 6)])).toBe(false);
  });

  it('checks each lock on its own', () => {
    const ops = [acquire(1, 'exclusive', 1, 0, 1, 'A'), acquire(1, 'exclusive', 2, 2, 3, 'B'), acquire(2, 'exclusive', 3, 6, 7, 'A')];
    const result = checkOperations(locks, ops);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.reason).toContain('(in partition 1 of 2)');
    expect(checkOperations(locks, ops.slice(0, 2))).toMatchObject({ ok: true, linearizations: [expect.any(Array), expect.any(Array)] });
  });

  it('an expiry releases all of a holder\'s locks at one instant (the history is then checked whole)', () => {
    // Lock A needs the expiry before 3, lock B after 5: each alone is fine, together impossible.
    const ops = [acquire(1, 'exclusive', 1, 0, 1, 'A'), expire(1, 0, 10), acquire(2, 'exclusive', 2, 2, 3, 'A'), acquire(1, 'exclusive', 3, 4, 5, 'B'), acquire(3, 'exclusive', 4, 6, 7, 'B')];
    expect(checkOperations(locks, ops).ok).toBe(false);
    expect(checkOperations(locks, ops.filter((op) => op.input.op === 'expire' || (op.input as { lock: string }).lock === 'A')).ok).toBe(true);
    expect(checkOperations(locks, ops.filter((op) => op.input.op === 'expire' || (op.input as { lock: string }).lock === 'B')).ok).toBe(true);
  });

  it('agrees with an exhaustive search on 1,000 random small histories', () => {
    const rand = mulberry32(11);
    const int = (n: number) => Math.floor(rand() * n);
    const whole = { ...locks, partition: undefined };
    const verdicts = { ok: 0, bad: 0 };
    for (let round = 0; round < 1000; round++) {
      const ops: LOp[] = [];
      for (let c = 1; c <= 3; c++) {
        let t = int(3);
        for (let k = 0, n = 1 + int(3); k < n; k++) {
          const [call, ret] = [t, t + int(4)];
          const mode: LockMode = rand() < 0.5 ? 'exclusive' : 'shared';
          const lock = rand() < 0.8 ? 'L' : 'M';
          const r = rand();
          let op =
            r < 0.35 ? acquire(c, mode, rand() < 0.5 ? true : 1 + int(3), call, ret, lock)
            : r < 0.6 ? tryAcquire(c, mode, rand() < 0.5 ? false : 1 + int(3), call, ret, lock)
            : r < 0.9 ? release(c, rand() < 0.6, call, ret, lock)
            : expire(c, call, ret);
          if (k === n - 1 && rand() < 0.2) op = pending(op);
          ops.push(op);
          t = ret + 1 + int(2);
        }
      }
      const verdict = checkOperations(locks, ops).ok;
      expect(checkOperations(whole, ops).ok).toBe(verdict);
      expect(bruteForce(whole, ops)).toBe(verdict);
      verdicts[verdict === true ? 'ok' : 'bad']++;
    }
    expect(verdicts.ok).toBeGreaterThan(50);
    expect(verdicts.bad).toBeGreaterThan(100);
  });
});

describe('file model: whole-file reads, writes and CAS with generations', () => {
  type FOp = Operation<FileInput<string, string>, FileOutput<string>>;
  const files = fileModel<string, string>('');
  const read = (c: number, contents: string, generation: number, call: number, ret: number, path = 'f'): FOp => ({ clientId: c, input: { op: 'read', path }, output: { contents, generation }, call, ret });
  const write = (c: number, contents: string, output: FileOutput<string>, call: number, ret: number, path = 'f'): FOp => ({ clientId: c, input: { op: 'write', path, contents }, output, call, ret });
  const cas = (c: number, expected: number, contents: string, output: number | false, call: number, ret: number): FOp => ({ clientId: c, input: { op: 'cas', path: 'f', expected, contents }, output, call, ret });

  it('accepts reads that see the newest write and its generation', () => {
    expect(checkOperations(files, [read(1, '', 0, 0, 1), write(1, 'a', 1, 2, 3), read(2, 'a', 1, 4, 5), write(2, 'b', 2, 6, 7), read(1, 'b', 2, 8, 9)]).ok).toBe(true);
  });

  it('rejects a stale read after an acknowledged write, and a wrong generation', () => {
    expect(checkOperations(files, [write(1, 'a', 1, 0, 1), read(2, '', 0, 2, 3)]).ok).toBe(false);
    expect(checkOperations(files, [write(1, 'a', 1, 0, 1), read(2, 'a', 2, 2, 3)]).ok).toBe(false);
  });

  it('a CAS swaps only at the expected generation, and one of two concurrent CAS wins', () => {
    expect(checkOperations(files, [cas(1, 0, 'a', 1, 0, 5), cas(2, 0, 'b', false, 1, 6), read(3, 'a', 1, 7, 8)]).ok).toBe(true);
    expect(checkOperations(files, [cas(1, 0, 'a', 1, 0, 5), cas(2, 0, 'b', 1, 1, 6)]).ok).toBe(false);
    expect(checkOperations(files, [write(1, 'a', 1, 0, 1), cas(2, 1, 'b', false, 2, 3)]).ok).toBe(false);
  });

  it('a pending write may or may not have happened; files are checked one by one', () => {
    const lost: FOp = { ...write(1, 'a', undefined, 0, 0), output: UNKNOWN, ret: Infinity };
    expect(checkOperations(files, [lost, read(2, 'a', 1, 2, 3)]).ok).toBe(true);
    expect(checkOperations(files, [lost, read(2, '', 0, 2, 3)]).ok).toBe(true);
    expect(checkOperations(files, [lost, read(2, 'a', 1, 2, 3), read(2, '', 0, 4, 5)]).ok).toBe(false);
    const result = checkOperations(files, [write(3, 'x', 1, 0, 1, 'g'), read(4, 'x', 1, 2, 3, 'g'), write(1, 'a', 1, 0, 1), read(2, 'b', 1, 2, 3)]);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.reason).toContain('(in partition 2 of 2)');
  });
});
