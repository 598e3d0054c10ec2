import { describe, expect, it, test } from '@jest/globals';
import { cellDb, inSimCell, masterNode, recordedTerm, str, text } from './cell-harness.ts';
import { bytes, Cell, ROOT } from './helpers.ts';

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
  });
});

test("a write the old master got chosen but never heard of is applied before the new term: the client asks the new master with the same attempt, and it is applied once", async () => {
  await inSimCell(61, async ({ sim, plan, clock }, a, b) => {
    const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
    const hb = (await b.open('/ls/test/f')).handle;
    await a.setContents(ha, text('v1'));
    let read = await b.getContentsAndStat(hb);
    while (!read.cached) read = await b.getContentsAndStat(hb);
    const v1 = read.stat.contentGeneration;
    const old = (await masterNode(sim, plan))!;
    const oldTerm = await recordedTerm(sim, plan);
    // The master's accepts reach every acceptor, their answers never come back: the write is
    // chosen, the master never hears so and answers UNAVAILABLE, and the next leader commits it.
    const others = plan.config.nodes.filter((n) => n !== old);
    sim.partition(others, [old], { oneWay: true });
    const write = a.setContents(ha, text('v2'));
    while ((await cellDb(sim, plan)).inspect().masterTerm.round <= oldTerm.round) await clock.sleep(50);
    sim.heal();
    const acked = await write;
    // Answered by the database's copy of the first answer: the first copy was the one applied.
    expect(acked).toMatchObject({ repeated: true, stat: { contentGeneration: v1 + 1 } });
    const node = (await cellDb(sim, plan)).inspect().nodes.get('/ls/test/f')!;
    expect([str(node.contents), node.contentGeneration]).toEqual(['v2', v1 + 1]);
    // No cached read after the ack returns the older value.
    expect(str((await b.getContentsAndStat(hb)).contents)).toBe('v2');
    expect(str((await a.getContentsAndStat(ha)).contents)).toBe('v2');
  }, { clients: 2 });
});
