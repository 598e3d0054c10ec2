import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { checkOperations, fileModel, lockModel, type FileInput, type FileOutput, type LockInput, type LockOutput, type Operation } from '@actorfs/actors/testing';
import type { LsOp, LsResults } from '../src/index.ts';
import { Cell, bytes, text } from './helpers.ts';

type LockOp = Operation<LockInput<string>, LockOutput>;
type FileOp = Operation<FileInput<string, string>, FileOutput<string>>;

/**
 * Concurrent clients on one lock file: each operation takes effect on the database at a random
 * instant between its call and its return (so operations overlap), and what the database
 * answers is recorded as the client saw it. The histories must satisfy the lock and file models.
 */
function concurrentHistory(seed: number) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const cell = new Cell();
  const clients = [0, 1, 2, 3].map(() => ({ session: 0, handle: 0 }));
  const connect = (c: number) => {
    const session = cell.session(`client${c}`);
    clients[c] = { session, handle: cell.open(session, 'L', { create: 'ifAbsent' }) };
  };
  clients.forEach((_, c) => connect(c));
  const ok = <T extends LsOp['type']>(op: Extract<LsOp, { type: T }>) => cell.apply(op) as { ok: true; result: LsResults[T] } | { ok: false; error: { code: string } };

  type Planned = { client: number; instant: number; run: () => void };
  const planned: Planned[] = [];
  const lockOps: LockOp[] = [];
  const fileOps: FileOp[] = [];
  for (const c of [0, 1, 2, 3]) {
    let t = int(5);
    for (let k = 0; k < 12; k++) {
      const call = t;
      const instant = call + 1 + int(6);
      const ret = instant + 1 + int(6);
      t = ret + int(3);
      const r = random();
      if (r < 0.55) {
        const lockOp: LockOp = { clientId: c, input: { op: 'release', lock: 'L', holder: c }, output: undefined, call, ret };
        if (r < 0.3) lockOp.input = { op: 'tryAcquire', lock: 'L', holder: c, mode: random() < 0.5 ? 'exclusive' : 'shared' };
        else if (r < 0.5) lockOp.input = { op: 'release', lock: 'L', holder: c };
        else lockOp.input = { op: 'expire', holder: c };
        lockOps.push(lockOp);
        planned.push({
          client: c,
          instant,
          run: () => {
            const { session, handle } = clients[c]!;
            const input = lockOp.input;
            if (input.op === 'tryAcquire') {
              const out = ok({ type: 'acquire', session, handle, mode: input.mode, lockDelayMs: 0 });
              lockOp.output = out.ok ? out.result.sequencer.generation : false;
              if (!out.ok) expect(['LOCK_HELD', 'ALREADY_HELD']).toContain(out.error.code);
            } else if (input.op === 'release') {
              lockOp.output = ok({ type: 'release', session, handle }).ok;
            } else {
              ok({ type: 'expireSession', session });
              connect(c);
            }
          },
        });
      } else {
        const fileOp: FileOp = { clientId: `file${c}`, input: { op: 'read', path: 'L' }, output: undefined, call, ret };
        const which = random();
        const contents = `c${c}k${k}`;
        if (which < 0.4) fileOp.input = { op: 'read', path: 'L' };
        else if (which < 0.7) fileOp.input = { op: 'write', path: 'L', contents };
        else fileOp.input = { op: 'cas', path: 'L', expected: int(4), contents };
        fileOps.push(fileOp);
        planned.push({
          client: c,
          instant,
          run: () => {
            const { session, handle } = clients[c]!;
            const input = fileOp.input;
            if (input.op === 'read') {
              const got = cell.read({ type: 'getContentsAndStat', session, handle });
              fileOp.output = { contents: text(got.contents), generation: got.stat.contentGeneration };
            } else {
              const ifGeneration = input.op === 'cas' ? input.expected : undefined;
              const out = ok({ type: 'setContents', session, handle, contents: bytes(input.contents), ...(ifGeneration === undefined ? {} : { ifGeneration }) });
              fileOp.output = out.ok ? out.result.stat.contentGeneration : false;
            }
          },
        });
      }
    }
  }
  for (const p of planned.sort((a, b) => a.instant - b.instant || a.client - b.client)) {
    cell.time = 1000 + p.instant;
    p.run();
  }
  return { lockOps, fileOps };
}

describe('the database against the lock and file models', () => {
  it('concurrent tryAcquire, release, expiry, reads, writes and CAS give linearizable histories (30 seeds)', () => {
    let granted = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { lockOps, fileOps } = concurrentHistory(seed);
      const locks = checkOperations(lockModel<string>(), lockOps, { maxSteps: 1_000_000 });
      const files = checkOperations(fileModel<string, string>(''), fileOps, { maxSteps: 1_000_000 });
      expect([seed, locks.ok, files.ok]).toEqual([seed, true, true]);
      granted += lockOps.filter((op) => typeof op.output === 'number').length;
    }
    expect(granted).toBeGreaterThan(100);
  });

  it('a history with one answer changed is caught', () => {
    const { lockOps, fileOps } = concurrentHistory(5);
    const read = fileOps.find((op) => op.input.op === 'read')!;
    read.output = { contents: 'never written', generation: 0 };
    expect(checkOperations(fileModel<string, string>(''), fileOps).ok).toBe(false);
    const grant = lockOps.find((op) => typeof op.output === 'number')!;
    grant.output = 0; // lock generations start at 1
    expect(checkOperations(lockModel<string>(), lockOps).ok).toBe(false);
  });
});
