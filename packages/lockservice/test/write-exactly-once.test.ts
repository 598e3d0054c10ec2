import { describe, expect, it, test } from '@jest/globals';
import { cellDb, inSimCell, masterNode, recordedTerm, str, text, type SimCellRun } from './cell-harness.ts';
import { bytes, Cell, ROOT } from './helpers.ts';
import { WRITES_KEPT } from '../src/state.ts';

describe('the database applies a write attempt once', () => {
  it('answers the same attempt again as the write was answered, without applying it twice or checking its generation again', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    const first = cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('one'), ifGeneration: 0, attempt: 7 });
    const again = cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('one'), ifGeneration: 0, attempt: 7 });
    expect(again).toEqual({ ...first, repeated: true });
    expect(cell.db.inspect().nodes.get(`${ROOT}/f`)!.contentGeneration).toBe(1);
  });

  it("answers a repeat after a later write with the stat that write left, marked so no cache keeps it", () => {
    const cell = new Cell();
    const [s, t] = [cell.session(), cell.session('bob')];
    const [h, other] = [cell.open(s, 'f'), cell.open(t, 'f')];
    const first = cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('one'), attempt: 1 });
    cell.ok({ type: 'setContents', session: t, handle: other, contents: bytes('two, longer') });
    const again = cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('one'), attempt: 1 });
    expect(again).toEqual({ stat: first.stat, repeated: true });
    const node = cell.db.inspect().nodes.get(`${ROOT}/f`)!;
    expect([node.contentGeneration, new TextDecoder().decode(node.contents)]).toEqual([2, 'two, longer']);
  });

  it('answers a copy of an earlier write applied before a later one of the handle as it was, without undoing the later write', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    const older = cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('older'), attempt: 3 });
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('newer'), attempt: 4 });
    expect(cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('older'), attempt: 3 })).toEqual({ stat: older.stat, repeated: true });
    const node = cell.db.inspect().nodes.get(`${ROOT}/f`)!;
    expect([node.contentGeneration, new TextDecoder().decode(node.contents)]).toEqual([2, 'newer']);
  });

  it('refuses a late copy of an earlier write never applied, after a later one of the handle was, so it never undoes the later write', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('newer'), attempt: 4 });
    expect(cell.fails({ type: 'setContents', session: s, handle: h, contents: bytes('older'), attempt: 3 }, 'ATTEMPT_DECIDED')).toMatch(/never applied/);
    const node = cell.db.inspect().nodes.get(`${ROOT}/f`)!;
    expect([node.contentGeneration, new TextDecoder().decode(node.contents)]).toEqual([1, 'newer']);
  });

  it(`keeps the outcomes of a handle's last ${WRITES_KEPT} write attempts: an older copy is refused as forgotten, a never-applied one inside the window as decided`, () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    // Even attempts applied, odd ones never: 2, 4, …, 2 * (WRITES_KEPT + 1).
    for (let i = 1; i <= WRITES_KEPT + 1; i++) cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes(`w${i}`), attempt: 2 * i });
    const write = (attempt: number) => ({ type: 'setContents' as const, session: s, handle: h, contents: bytes('late'), attempt });
    expect(cell.fails(write(2), 'ATTEMPT_FORGOTTEN')).toMatch(/no longer known/);
    expect(cell.fails(write(1), 'ATTEMPT_FORGOTTEN')).toMatch(/no longer known/);
    expect(cell.ok(write(4))).toMatchObject({ repeated: true, stat: { contentGeneration: 2 } });
    expect(cell.fails(write(5), 'ATTEMPT_DECIDED')).toMatch(/never applied/);
    expect(cell.db.inspect().nodes.get(`${ROOT}/f`)!.contentGeneration).toBe(WRITES_KEPT + 1);
  });

  it('applies a new attempt, or a write without one, as a write; a snapshot keeps the last attempt', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('a'), attempt: 1 });
    expect(cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('b'), attempt: 2 }).stat.contentGeneration).toBe(2);
    expect(cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('b') }).stat.contentGeneration).toBe(3);
    const copy = new Cell();
    copy.db.restore(cell.db.snapshot());
    expect(copy.ok({ type: 'setContents', session: s, handle: h, contents: bytes('b'), attempt: 2 })).toMatchObject({ repeated: true, stat: { contentGeneration: 2 } });
    expect(copy.ok({ type: 'setContents', session: s, handle: h, contents: bytes('a'), attempt: 1 })).toMatchObject({ repeated: true, stat: { contentGeneration: 1 } });
  });

  it("restores a snapshot taken before the window with the handle's one last attempt kept and every earlier one forgotten", () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('a'), attempt: 5 });
    const pieces = [...cell.db.snapshot()].map((p) => {
      const piece = p as { piece: string; handles?: Record<string, unknown>[] };
      if (piece.piece !== 'handles') return p;
      return { ...piece, handles: piece.handles!.map(({ writes: _writes, writesForgotten: _forgotten, ...old }) => ({ ...old, writeAttempt: 5, writeGeneration: 1 })) };
    });
    const copy = new Cell();
    copy.db.restore(pieces);
    expect(copy.ok({ type: 'setContents', session: s, handle: h, contents: bytes('a'), attempt: 5 })).toMatchObject({ repeated: true, stat: { contentGeneration: 1 } });
    copy.fails({ type: 'setContents', session: s, handle: h, contents: bytes('a'), attempt: 4 }, 'ATTEMPT_FORGOTTEN');
  });
});

/**
 * Sends `work` to the master while the acceptors' answers to it are cut: what it proposes is chosen
 * (its accepts reach every acceptor), it never hears so and answers UNAVAILABLE, and the next leader
 * commits it before that leader's master begins its term. Heals once the new term is recorded.
 */
async function answersCutUntilNewTerm<T>({ sim, plan, clock }: SimCellRun, work: () => Promise<T>): Promise<T> {
  const old = (await masterNode(sim, plan))!;
  const oldTerm = await recordedTerm(sim, plan);
  sim.partition(plan.config.nodes.filter((n) => n !== old), [old], { oneWay: true });
  const done = work();
  while ((await recordedTerm(sim, plan)).round <= oldTerm.round) await clock.sleep(50);
  sim.heal();
  return done;
}

test("a write the old master got chosen but never heard of is applied before the new term: the client asks the new master with the same attempt, and it is applied once", async () => {
  await inSimCell(61, async (run, a, b) => {
    const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
    const hb = (await b.open('/ls/test/f')).handle;
    await a.setContents(ha, text('v1'));
    let read = await b.getContentsAndStat(hb);
    while (!read.cached) read = await b.getContentsAndStat(hb);
    const v1 = read.stat.contentGeneration;
    const acked = await answersCutUntilNewTerm(run, () => a.setContents(ha, text('v2')));
    // Answered by the database's copy of the first answer: the first copy was the one applied.
    expect(acked).toMatchObject({ repeated: true, stat: { contentGeneration: v1 + 1 } });
    const node = (await cellDb(run.sim, run.plan)).inspect().nodes.get('/ls/test/f')!;
    expect([str(node.contents), node.contentGeneration]).toEqual(['v2', v1 + 1]);
    // No cached read after the ack returns the older value.
    expect(str((await b.getContentsAndStat(hb)).contents)).toBe('v2');
    expect(str((await a.getContentsAndStat(ha)).contents)).toBe('v2');
  }, { clients: 2 });
});

test("a try at a lock the old master got chosen but never heard of: the client's final try of the same attempt at the new master learns the grant, given once", async () => {
  await inSimCell(62, async (run, a, b) => {
    const ha = (await a.open('/ls/test/lock', { create: 'ifAbsent' })).handle;
    const hb = (await b.open('/ls/test/lock')).handle;
    const before = (await cellDb(run.sim, run.plan)).inspect().counters.nextLockGeneration;
    const sequencer = await answersCutUntilNewTerm(run, () => a.tryAcquire(ha, 'exclusive'));
    const db = (await cellDb(run.sim, run.plan)).inspect();
    // One grant: one lock generation drawn, and a holds it.
    expect(db.counters.nextLockGeneration).toBe(before + 1);
    expect(sequencer.generation).toBe(before);
    expect([...db.nodes.get('/ls/test/lock')!.holders]).toEqual([ha]);
    await a.checkSequencer(sequencer);
    await expect(b.tryAcquire(hb, 'exclusive')).rejects.toMatchObject({ code: 'LOCK_HELD' });
  }, { clients: 2 });
});

test("two writes of one handle in flight when the old master lost its acceptors' answers: the older one, applied before the new term and asked again after the newer one applied, is answered as it was applied, not refused as superseded", async () => {
  await inSimCell(63, async (run, a) => {
    const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
    const v1 = (await a.setContents(ha, text('v1'))).stat.contentGeneration;
    const [older, newer] = await answersCutUntilNewTerm(run, () => Promise.all([a.setContents(ha, text('v2')), a.setContents(ha, text('v3'))]));
    expect([older.repeated, older.stat.contentGeneration]).toEqual([true, v1 + 1]);
    expect(newer.stat.contentGeneration).toBe(v1 + 2);
    const node = (await cellDb(run.sim, run.plan)).inspect().nodes.get('/ls/test/f')!;
    expect([str(node.contents), node.contentGeneration]).toEqual(['v3', v1 + 2]);
    expect(str((await a.getContentsAndStat(ha)).contents)).toBe('v3');
  });
});
