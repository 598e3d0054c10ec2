import { describe, expect, it } from '@jest/globals';
import { SequencerGuard, type Sequencer } from '../src/index.ts';
import { Cell, ROOT } from './helpers.ts';

describe('sequencers in the cell', () => {
  it('a holder gets (lock name, mode, lock generation), and the cell confirms it while the lock is held', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'lock');
    const { sequencer } = cell.ok({ type: 'acquire', session: s, handle: h, mode: 'exclusive' });
    expect(sequencer).toEqual({ lock: `${ROOT}/lock`, mode: 'exclusive', generation: expect.any(Number) });
    expect(cell.read({ type: 'getSequencer', session: s, handle: h }).sequencer).toEqual(sequencer);
    expect(cell.read({ type: 'checkSequencer', sequencer })).toEqual({ valid: true });
  });

  it("a deposed holder's sequencer is rejected once another holds the lock", () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const [h1, h2] = [cell.open(s1, 'lock'), cell.open(s2, 'lock')];
    const old = cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' }).sequencer;
    cell.ok({ type: 'expireSession', session: s1 });
    expect(cell.query({ type: 'checkSequencer', sequencer: old })).toMatchObject({ ok: false, error: { code: 'STALE_SEQUENCER', message: expect.stringContaining('no longer held') } });
    cell.time += 1000;
    const fresh = cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' }).sequencer;
    expect(cell.query({ type: 'checkSequencer', sequencer: old })).toMatchObject({ ok: false, error: { code: 'STALE_SEQUENCER', message: expect.stringContaining(`at generation ${fresh.generation}`) } });
    expect(cell.query({ type: 'checkSequencer', sequencer: { ...fresh, mode: 'shared' } })).toMatchObject({ ok: false, error: { message: expect.stringContaining('held exclusive') } });
  });

  it('a sequencer of a deleted and re-created lock file is stale: lock generations are never reused by a name', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'lock');
    const old = cell.ok({ type: 'acquire', session: s, handle: h, mode: 'exclusive' }).sequencer;
    cell.ok({ type: 'delete', session: s, handle: h });
    expect(cell.query({ type: 'checkSequencer', sequencer: old })).toMatchObject({ ok: false, error: { message: expect.stringContaining('no longer exists') } });
    const again = cell.open(s, 'lock');
    const fresh = cell.ok({ type: 'acquire', session: s, handle: again, mode: 'exclusive' }).sequencer;
    expect(fresh.generation).toBeGreaterThan(old.generation);
    expect(cell.query({ type: 'checkSequencer', sequencer: old }).ok).toBe(false);
  });

  it('getSequencer on a handle that holds no lock is NOT_HELD; a malformed sequencer is BAD_REQUEST', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'lock');
    expect(cell.query({ type: 'getSequencer', session: s, handle: h })).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } });
    expect(cell.db.query({ type: 'checkSequencer', sequencer: { lock: '/elsewhere', mode: 'exclusive', generation: 1 } })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

describe('SequencerGuard: the helper other servers use', () => {
  const seq = (generation: number, mode: Sequencer['mode'] = 'exclusive', lock = '/ls/c/master'): Sequencer => ({ lock, mode, generation });

  it('accepts newer and equal generations and refuses an older one, naming both', () => {
    const guard = new SequencerGuard();
    expect(guard.check(seq(3)).ok).toBe(true);
    expect(guard.check(seq(3)).ok).toBe(true);
    expect(guard.check(seq(5)).ok).toBe(true);
    expect(guard.check(seq(4))).toEqual({
      ok: false,
      error: { code: 'STALE_SEQUENCER', message: 'sequencer (/ls/c/master, exclusive, generation 4) is stale: generation 5 of that lock has been seen' },
    });
  });

  it('keeps the newest per lock: one lock moving on does not touch another', () => {
    const guard = new SequencerGuard();
    guard.check(seq(9, 'exclusive', '/ls/c/a'));
    expect(guard.check(seq(2, 'exclusive', '/ls/c/b')).ok).toBe(true);
    expect(guard.check(seq(8, 'exclusive', '/ls/c/a')).ok).toBe(false);
  });

  it('refuses a known generation shown in the other mode', () => {
    const guard = new SequencerGuard();
    guard.check(seq(7, 'shared'));
    expect(guard.check(seq(7, 'shared')).ok).toBe(true);
    expect(guard.check(seq(7, 'exclusive'))).toMatchObject({ ok: false, error: { code: 'STALE_SEQUENCER', message: expect.stringContaining('seen in shared mode') } });
  });

  it('refuses malformed input with a clear error and keeps working', () => {
    const guard = new SequencerGuard();
    for (const bad of [null, 'x', {}, { lock: '', mode: 'exclusive', generation: 1 }, { lock: 'l', mode: 'both', generation: 1 }, { lock: 'l', mode: 'shared', generation: -1 }, { lock: 'l', mode: 'shared', generation: 1.5 }]) {
      expect(guard.check(bad)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    }
    expect(guard.check(seq(1)).ok).toBe(true);
  });

  it('tracks at most maxLocks locks and refuses a new one past it rather than forget an old one', () => {
    const guard = new SequencerGuard(2);
    guard.check(seq(5, 'exclusive', 'a'));
    guard.check(seq(1, 'exclusive', 'b'));
    expect(guard.check(seq(1, 'exclusive', 'c'))).toMatchObject({ ok: false, error: { code: 'LIMIT_REACHED' } });
    expect(guard.check(seq(4, 'exclusive', 'a')).ok).toBe(false);
  });
});
