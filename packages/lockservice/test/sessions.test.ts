import { describe, expect, it } from '@jest/globals';
import { Cell, ROOT, bytes } from './helpers.ts';

describe('sessions: open, close, expire', () => {
  it('gives each session its own id and lists the live ones for a new master', () => {
    const cell = new Cell();
    const [a, b, c] = [cell.session(), cell.session('bob'), cell.session()];
    expect(new Set([a, b, c]).size).toBe(3);
    cell.ok({ type: 'closeSession', session: b });
    expect(cell.read({ type: 'sessions' }).sessions).toEqual([a, c]);
    // the count anyone may ask for, without ids or secrets
    expect(cell.read({ type: 'sessionCount' })).toEqual({ count: 2 });
  });

  it("keeps each session's secret, lists it for a new master, and a snapshot carries it", () => {
    const cell = new Cell();
    const a = cell.ok({ type: 'openSession', principal: 'alice', secret: 'a-secret' });
    const b = cell.session('bob');
    expect(a.secret).toBe('a-secret');
    expect(cell.read({ type: 'sessions' })).toEqual({ sessions: [a.session, b], secrets: ['a-secret', ''] });
    const copy = new Cell();
    copy.db.restore(cell.db.snapshot());
    expect(copy.read({ type: 'sessions' })).toEqual({ sessions: [a.session, b], secrets: ['a-secret', ''] });
    cell.fails({ type: 'openSession', principal: 'carol', secret: '' }, 'BAD_REQUEST');
  });

  it('an open tells the master of the session (whoever proposed it), and nothing else does', () => {
    const cell = new Cell();
    const opened = cell.apply({ type: 'openSession', principal: 'alice' });
    const session = cell.read({ type: 'sessions' }).sessions[0];
    expect(opened.events).toEqual([{ kind: 'sessionOpened', session }]);
    expect(cell.apply({ type: 'closeSession', session: session! }).events).toBeUndefined();
  });

  it('expiry deletes the session ephemeral files and directories, and leaves the others', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    cell.mkdir(s1, 'eph', { ephemeral: true });
    cell.open(s1, 'eph/a', { ephemeral: true });
    cell.open(s1, 'eph/b', { ephemeral: true, kind: 'dir' });
    cell.open(s1, 'eph/b/c', { ephemeral: true });
    cell.open(s1, 'permanent');
    cell.open(s2, 'theirs', { ephemeral: true });
    cell.ok({ type: 'expireSession', session: s1 });
    const paths = [...cell.db.inspect().nodes.keys()];
    expect(paths.sort()).toEqual([ROOT, `${ROOT}/permanent`, `${ROOT}/theirs`]);
  });

  it('closing a session deletes its ephemerals too', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.open(s, 'e', { ephemeral: true });
    cell.ok({ type: 'closeSession', session: s });
    expect(cell.db.inspect().nodes.has(`${ROOT}/e`)).toBe(false);
  });

  it('expiry releases the session locks, and others can hold them once the lock-delay has passed', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const h1 = cell.open(s1, 'lock');
    const h2 = cell.open(s2, 'lock');
    cell.ok({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' });
    const { freed } = cell.ok({ type: 'expireSession', session: s1 });
    expect(freed).toEqual([{ path: `${ROOT}/lock`, availableAt: cell.time + 1000 }]);
    cell.time += 1000;
    cell.ok({ type: 'acquire', session: s2, handle: h2, mode: 'exclusive' });
  });

  it('an ended session can do nothing more: every op names it unknown', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'expireSession', session: s });
    for (const op of [
      { type: 'open', session: s, path: `${ROOT}/g`, create: 'ifAbsent' },
      { type: 'setContents', session: s, handle: h, contents: bytes('x') },
      { type: 'acquire', session: s, handle: h, mode: 'shared' },
      { type: 'release', session: s, handle: h },
      { type: 'close', session: s, handle: h },
      { type: 'closeSession', session: s },
      { type: 'expireSession', session: s },
    ] as const) {
      expect(cell.fails(op, 'SESSION_UNKNOWN')).toContain(`session ${s} is not open`);
    }
    expect(cell.query({ type: 'stat', session: s, handle: h })).toMatchObject({ ok: false, error: { code: 'SESSION_UNKNOWN' } });
  });
});
