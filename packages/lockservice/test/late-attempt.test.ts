import { expect, test } from '@jest/globals';
import { PaxosDomainError } from '@actorfs/paxos';
import { LsClientError, type LsError } from '../src/index.ts';
import { groupClient, inSimCell, recordedTerm } from './cell-harness.ts';

const LOCK = '/ls/test/lock';

test("a deposed master's late copy of an attempt the client was told was refused is refused too, never granted", async () => {
  await inSimCell(41, async ({ sim, plan, clock }, a, b) => {
    const ha = (await a.open(LOCK, { create: 'ifAbsent' })).handle;
    const hb = (await b.open(LOCK)).handle;
    await b.tryAcquire(hb, 'exclusive');
    // a's first acquire call (attempt 1) is refused, and a is told so.
    expect(await a.tryAcquire(ha, 'exclusive').catch((err: unknown) => (err instanceof LsClientError ? err.code : err))).toBe('LOCK_HELD');
    await b.release(hb);
    const session = (await a.status()).session!;
    // A copy of attempt 1 as a master's blocking try proposes it, proposed straight to the group
    // now under the master's term, as its Paxos client still retrying it would. (A deposed
    // master's copy, of an older term, is refused before this rule: deposed-master.test.ts.)
    const deposed = groupClient(sim, plan, clock);
    const term = await recordedTerm(sim, plan);
    const late = await deposed.propose({ type: 'acquire', session, handle: ha, mode: 'exclusive', attempt: 1, term }).then(
      () => 'granted',
      (err: unknown) => (err instanceof PaxosDomainError ? (err.error as LsError).code : String(err)),
    );
    expect(late).toBe('ATTEMPT_DECIDED');
    expect(await deposed.read({ type: 'heldLocks', path: LOCK })).toMatchObject({ ok: true, result: { locks: [] } });
    // The lock is free for whoever asks next, a included.
    expect((await a.tryAcquire(ha, 'exclusive')).lock).toBe(LOCK);
  }, { clients: 2 });
});
