import { describe, expect, it, test } from '@jest/globals';
import { PaxosDomainError } from '@actorfs/paxos';
import { LockDb, type LsError, type LsOp, type LsOpType, type MasterTerm } from '../src/index.ts';
import { groupClient, inSimCell, masterNode, recordedTerm, str, text } from './cell-harness.ts';
import { bytes, Cell, ROOT } from './helpers.ts';

describe('the database refuses every op of a term older than the newest begun', () => {
  /** One op of each type (a new type fails to compile here until it is listed). */
  function everyOp(cell: Cell): Record<LsOpType, LsOp> {
    const s = cell.session();
    const h = cell.open(s, 'f');
    const held = cell.open(s, 'held');
    cell.ok({ type: 'acquire', session: s, handle: held, mode: 'exclusive' });
    return {
      beginTerm: { type: 'beginTerm', term: { round: 1, id: 4 } },
      openSession: { type: 'openSession', principal: 'bob' },
      closeSession: { type: 'closeSession', session: s },
      expireSession: { type: 'expireSession', session: s },
      open: { type: 'open', session: s, path: `${ROOT}/new`, create: 'ifAbsent' },
      close: { type: 'close', session: s, handle: h },
      setContents: { type: 'setContents', session: s, handle: h, contents: bytes('late') },
      delete: { type: 'delete', session: s, handle: h },
      setAcl: { type: 'setAcl', session: s, handle: h, acl: { read: 'nobody' } },
      acquire: { type: 'acquire', session: s, handle: h, mode: 'exclusive' },
      release: { type: 'release', session: s, handle: held },
    };
  }
  const older: MasterTerm = { round: 2, id: 0 };
  const current: MasterTerm = { round: 2, id: 1 };

  it('once a term has begun, an op of an older term (or of none) changes nothing and is refused as DEPOSED_MASTER', () => {
    const cell = new Cell();
    const ops = everyOp(cell);
    cell.ok({ type: 'beginTerm', term: current });
    const before = JSON.stringify([...cell.db.snapshot()]);
    for (const op of Object.values(ops)) {
      const message = cell.fails({ ...op, term: older }, 'DEPOSED_MASTER');
      expect(message).toContain('term 2.0');
      expect(message).toContain('term 2.1');
      if (op.type !== 'beginTerm') cell.fails(op, 'DEPOSED_MASTER');
    }
    expect(JSON.stringify([...cell.db.snapshot()])).toBe(before);
  });

  it("the current term's ops, and a newer term's, apply", () => {
    const cell = new Cell();
    const ops = everyOp(cell);
    cell.ok({ type: 'beginTerm', term: current });
    cell.ok({ ...ops.setContents, term: current });
    cell.ok({ ...ops.release, term: { round: 3, id: 0 } });
    // Begun again (a master's retry) is no change; a newer term's begin moves the record on.
    cell.ok({ type: 'beginTerm', term: current });
    cell.ok({ type: 'beginTerm', term: { round: 3, id: 2 } });
    cell.fails({ ...ops.acquire, term: current }, 'DEPOSED_MASTER');
  });

  it('ops of a database where no term has begun apply with or without one; the record survives a snapshot', () => {
    const cell = new Cell();
    const ops = everyOp(cell);
    cell.ok(ops.setContents);
    cell.ok({ ...ops.setAcl, term: older });
    cell.ok({ type: 'beginTerm', term: current });
    const copy = new LockDb(cell.db.config);
    copy.restore(cell.db.snapshot());
    expect(copy.inspect().masterTerm).toEqual(current);
    expect(copy.apply({ ...ops.acquire, term: older }, { slot: 1, index: 0, time: cell.time })).toMatchObject({ ok: false, error: { code: 'DEPOSED_MASTER' } });
  });

  it('a malformed term is a bad request', () => {
    const cell = new Cell();
    const s = cell.session();
    for (const term of [null, 7, { round: -1, id: 0 }, { round: 1 }, { round: 1, id: 0, extra: 1 }, { round: 1.5, id: 0 }]) {
      cell.fails({ type: 'openSession', principal: 'bob', term } as unknown as LsOp, 'BAD_REQUEST');
    }
    cell.fails({ type: 'beginTerm' } as unknown as LsOp, 'BAD_REQUEST');
    expect(cell.db.inspect().sessions.size).toBe(1);
    expect(s).toBe(1);
  });
});

test("a deposed master's late copy of a write, committed after a failover, is refused: it never hides behind the new master's cache invalidations", async () => {
  await inSimCell(51, async ({ sim, plan, clock }, a, b) => {
    const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
    const hb = (await b.open('/ls/test/f')).handle;
    await a.setContents(ha, text('v1'));
    const oldTerm = await recordedTerm(sim, plan);
    expect(oldTerm.round).toBeGreaterThan(0);
    const old = (await masterNode(sim, plan))!;
    sim.crash(old);
    // b reads at the new master until it has the value in its cache.
    let read = await b.getContentsAndStat(hb);
    while (!read.cached) read = await b.getContentsAndStat(hb);
    expect(str(read.contents)).toBe('v1');
    expect(await recordedTerm(sim, plan)).not.toEqual(oldTerm);
    // The old master's copy of a write, proposed under its term straight to the group, as its
    // Paxos client still retrying would once its node leads again: no cache was invalidated for it.
    const session = (await a.status()).session!;
    const deposed = groupClient(sim, plan, clock);
    const late = await deposed.propose({ type: 'setContents', session, handle: ha, contents: text('late'), term: oldTerm }).then(
      () => 'applied',
      (err: unknown) => (err instanceof PaxosDomainError ? (err.error as LsError).code : String(err)),
    );
    expect(late).toBe('DEPOSED_MASTER');
    const cell = await deposed.read({ type: 'getContentsAndStat', session, handle: ha });
    expect(cell.ok && str((cell.result as { contents: Uint8Array }).contents)).toBe('v1');
    // What b's cache serves is what the cell holds.
    const cached = await b.getContentsAndStat(hb);
    expect([str(cached.contents), cached.cached]).toEqual(['v1', true]);
    // Writes through the new master still invalidate b's copy (once a's KeepAlive has found it).
    while ((await a.status()).master === old) await clock.sleep(100);
    await a.setContents(ha, text('v2'));
    expect(str((await b.getContentsAndStat(hb)).contents)).toBe('v2');
  }, { clients: 2 });
});
