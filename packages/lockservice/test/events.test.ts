import { describe, expect, it } from '@jest/globals';
import { Cell, ROOT, bytes } from './helpers.ts';

describe('events: computed by apply for the handles subscribed to them', () => {
  it('contents modified reaches subscribed handles on the file, not the writer, not unsubscribed ones', () => {
    const cell = new Cell();
    const [s1, s2, s3] = [cell.session(), cell.session('bob'), cell.session('carol')];
    const writer = cell.open(s1, 'f', { events: ['contentsModified'] });
    const watcher = cell.watch(s2, 'f', ['contentsModified']);
    cell.watch(s3, 'f', ['childModified']);
    expect(cell.events({ type: 'setContents', session: s1, handle: writer, contents: bytes('x') })).toEqual([
      { session: s2, handle: watcher, kind: 'contentsModified', path: `${ROOT}/f` },
    ]);
  });

  it('a directory hears child added, modified and removed, naming the child', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    cell.mkdir(s1, 'd');
    const dir = cell.watch(s2, 'd', ['childAdded', 'childModified', 'childRemoved']);
    const at = { session: s2, handle: dir, path: `${ROOT}/d`, child: 'f' };
    const opened = cell.apply({ type: 'open', session: s1, path: `${ROOT}/d/f`, create: 'ifAbsent' });
    expect(opened.events).toEqual([{ ...at, kind: 'childAdded' }]);
    const f = opened.ok ? (opened.result as { handle: number }).handle : -1;
    expect(cell.events({ type: 'setContents', session: s1, handle: f, contents: bytes('x') })).toEqual([{ ...at, kind: 'childModified' }]);
    expect(cell.events({ type: 'setAcl', session: s1, handle: f, acl: { read: null } })).toEqual([{ ...at, kind: 'childModified' }]);
    expect(cell.events({ type: 'delete', session: s1, handle: f })).toEqual([{ ...at, kind: 'childRemoved' }]);
  });

  it('lock acquired reaches the other subscribed handles on the lock file', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const h1 = cell.open(s1, 'lock', { events: ['lockAcquired'] });
    const h2 = cell.watch(s2, 'lock', ['lockAcquired']);
    expect(cell.events({ type: 'acquire', session: s1, handle: h1, mode: 'exclusive' })).toEqual([{ session: s2, handle: h2, kind: 'lockAcquired', path: `${ROOT}/lock` }]);
  });

  it('a refused acquire tells the holders of a conflicting lock request', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const holder = cell.open(s1, 'lock', { events: ['conflictingLock'] });
    const other = cell.open(s2, 'lock');
    cell.ok({ type: 'acquire', session: s1, handle: holder, mode: 'shared' });
    expect(cell.events({ type: 'acquire', session: s2, handle: other, mode: 'shared' })).toEqual([]);
    cell.ok({ type: 'release', session: s2, handle: other });
    const refused = cell.apply({ type: 'acquire', session: s2, handle: other, mode: 'exclusive' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'LOCK_HELD' } });
    expect(refused.events).toEqual([{ session: s1, handle: holder, kind: 'conflictingLock', path: `${ROOT}/lock` }]);
  });

  it('handle invalid reaches the other handles of a deleted node, including when its session expires', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const deleter = cell.open(s1, 'f', { events: ['handleInvalid'] });
    const other = cell.watch(s2, 'f', ['handleInvalid']);
    expect(cell.events({ type: 'delete', session: s1, handle: deleter })).toEqual([{ session: s2, handle: other, kind: 'handleInvalid', path: `${ROOT}/f` }]);
    cell.open(s1, 'e', { ephemeral: true });
    const watcher = cell.watch(s2, 'e', ['handleInvalid']);
    const root = cell.watch(s2, '', ['childRemoved']);
    expect(cell.events({ type: 'expireSession', session: s1 })).toEqual([
      { session: s2, handle: watcher, kind: 'handleInvalid', path: `${ROOT}/e` },
      { session: s2, handle: root, kind: 'childRemoved', path: ROOT, child: 'e' },
    ]);
  });

  it('a failed op emits nothing but its conflicting-lock notices', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const h = cell.open(s1, 'f');
    cell.watch(s2, 'f', ['contentsModified']);
    cell.ok({ type: 'setContents', session: s1, handle: h, contents: bytes('x') });
    const refused = cell.apply({ type: 'setContents', session: s1, handle: h, contents: bytes('y'), ifGeneration: 0 });
    expect(refused.ok).toBe(false);
    expect(refused.events).toBeUndefined();
  });
});
