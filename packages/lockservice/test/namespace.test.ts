import { describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import { Cell, ROOT, bytes, text } from './helpers.ts';

describe('namespace: files and directories under /ls/<cell>', () => {
  it('creates files and directories, and readdir lists a directory sorted', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.mkdir(s, 'dir');
    cell.open(s, 'dir/b');
    cell.open(s, 'dir/a', { kind: 'dir' });
    const root = cell.ok({ type: 'open', session: s, path: ROOT, create: 'never' }).handle;
    const dir = cell.open(s, 'dir', { create: 'never' });
    expect(cell.read({ type: 'readdir', session: s, handle: dir }).names).toEqual(['a', 'b']);
    expect(cell.read({ type: 'readdir', session: s, handle: root }).names).toEqual(['dir']);
  });

  it('open with create never needs the node, exclusive needs it absent, ifAbsent takes either', () => {
    const cell = new Cell();
    const s = cell.session();
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/f`, create: 'never' }, 'NOT_FOUND')).toContain(`${ROOT}/f does not exist`);
    expect(cell.ok({ type: 'open', session: s, path: `${ROOT}/f`, create: 'exclusive' }).created).toBe(true);
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/f`, create: 'exclusive' }, 'EXISTS')).toContain('exists');
    expect(cell.ok({ type: 'open', session: s, path: `${ROOT}/f`, create: 'ifAbsent' }).created).toBe(false);
  });

  it('opening an existing node as the other kind is an error, not a silent success', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.open(s, 'f');
    cell.mkdir(s, 'd');
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/f`, create: 'ifAbsent', kind: 'dir' }, 'NOT_A_DIRECTORY')).toBe(`${ROOT}/f exists as a file, not the dir asked for`);
    cell.fails({ type: 'open', session: s, path: `${ROOT}/d`, create: 'never', kind: 'file' }, 'IS_A_DIRECTORY');
    cell.ok({ type: 'open', session: s, path: `${ROOT}/d`, create: 'never', kind: 'dir' });
  });

  it('creates a node only inside an existing directory', () => {
    const cell = new Cell();
    const s = cell.session();
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/no/f`, create: 'ifAbsent' }, 'NOT_FOUND')).toContain(`its directory ${ROOT}/no does not exist`);
    cell.open(s, 'file');
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/file/f`, create: 'ifAbsent' }, 'NOT_A_DIRECTORY')).toContain('is a file');
  });

  it('whole-file writes replace the contents; stat carries length, crc32 checksum and a content generation that grows by one', () => {
    const cell = new Cell();
    const s = cell.session();
    const created = cell.ok({ type: 'open', session: s, path: `${ROOT}/f`, create: 'ifAbsent', contents: bytes('first') });
    expect(created.stat).toMatchObject({ kind: 'file', contentGeneration: 0, length: 5, checksum: crc32(bytes('first')) });
    const h = created.handle;
    expect(cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('second!') }).stat).toMatchObject({ contentGeneration: 1, length: 7, checksum: crc32(bytes('second!')) });
    const read = cell.read({ type: 'getContentsAndStat', session: s, handle: h });
    expect(text(read.contents)).toBe('second!');
    expect(read.stat.contentGeneration).toBe(1);
  });

  it('the database keeps its own copy: changing the written or read bytes afterwards changes nothing', () => {
    const cell = new Cell();
    const s = cell.session();
    const written = bytes('abc');
    const h = cell.open(s, 'f', { contents: written });
    written[0] = 0x7a;
    const first = cell.read({ type: 'getContentsAndStat', session: s, handle: h }).contents;
    first[1] = 0x7a;
    expect(text(cell.read({ type: 'getContentsAndStat', session: s, handle: h }).contents)).toBe('abc');
  });

  it('setContents with a generation is a compare-and-swap on the content generation', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('v1'), ifGeneration: 0 });
    expect(cell.fails({ type: 'setContents', session: s, handle: h, contents: bytes('lost'), ifGeneration: 0 }, 'GENERATION_MISMATCH')).toContain('at content generation 1, not 0');
    expect(text(cell.read({ type: 'getContentsAndStat', session: s, handle: h }).contents)).toBe('v1');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: bytes('v2'), ifGeneration: 1 });
    expect(cell.read({ type: 'stat', session: s, handle: h }).stat.contentGeneration).toBe(2);
  });

  it('a directory has no contents', () => {
    const cell = new Cell();
    const s = cell.session();
    const d = cell.mkdir(s, 'd');
    cell.fails({ type: 'setContents', session: s, handle: d, contents: bytes('x') }, 'IS_A_DIRECTORY');
    expect(cell.query({ type: 'getContentsAndStat', session: s, handle: d })).toMatchObject({ ok: false, error: { code: 'IS_A_DIRECTORY' } });
    cell.fails({ type: 'open', session: s, path: `${ROOT}/e`, create: 'ifAbsent', kind: 'dir', contents: bytes('x') }, 'BAD_REQUEST');
    const f = cell.open(s, 'f');
    expect(cell.query({ type: 'readdir', session: s, handle: f })).toMatchObject({ ok: false, error: { code: 'NOT_A_DIRECTORY' } });
  });

  it('deletes a directory only when empty, and never the root', () => {
    const cell = new Cell();
    const s = cell.session();
    const d = cell.mkdir(s, 'd');
    const f = cell.open(s, 'd/f');
    expect(cell.fails({ type: 'delete', session: s, handle: d }, 'NOT_EMPTY')).toContain('1 entries');
    cell.ok({ type: 'delete', session: s, handle: f });
    cell.ok({ type: 'delete', session: s, handle: d });
    expect(cell.db.inspect().nodes.has(`${ROOT}/d`)).toBe(false);
    const root = cell.ok({ type: 'open', session: s, path: ROOT, create: 'never' }).handle;
    expect(cell.fails({ type: 'delete', session: s, handle: root }, 'BAD_REQUEST')).toContain('root');
  });

  it('deleting a node closes every handle on it', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const h1 = cell.open(s1, 'f');
    const h2 = cell.open(s2, 'f');
    cell.ok({ type: 'delete', session: s1, handle: h1 });
    expect(cell.fails({ type: 'setContents', session: s2, handle: h2, contents: bytes('x') }, 'HANDLE_UNKNOWN')).toContain('its node was deleted');
    expect(cell.query({ type: 'stat', session: s2, handle: h2 })).toMatchObject({ ok: false, error: { code: 'HANDLE_UNKNOWN' } });
  });

  it('a re-created node has a greater instance number and starts its generations again', () => {
    const cell = new Cell();
    const s = cell.session();
    const first = cell.ok({ type: 'open', session: s, path: `${ROOT}/f`, create: 'ifAbsent' });
    cell.ok({ type: 'setContents', session: s, handle: first.handle, contents: bytes('x') });
    cell.ok({ type: 'delete', session: s, handle: first.handle });
    const second = cell.ok({ type: 'open', session: s, path: `${ROOT}/f`, create: 'ifAbsent' });
    expect(second.stat.instance).toBeGreaterThan(first.stat.instance);
    expect(second.stat.contentGeneration).toBe(0);
  });

  it('an ephemeral directory holds only ephemerals of its own session', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    cell.mkdir(s1, 'eph', { ephemeral: true });
    cell.open(s1, 'eph/mine', { ephemeral: true });
    expect(cell.fails({ type: 'open', session: s1, path: `${ROOT}/eph/permanent`, create: 'ifAbsent' }, 'EPHEMERAL_PARENT')).toContain('ephemeral directory');
    cell.fails({ type: 'open', session: s2, path: `${ROOT}/eph/theirs`, create: 'ifAbsent', ephemeral: true }, 'EPHEMERAL_PARENT');
  });

  it('handles belong to their session: another session cannot use them', () => {
    const cell = new Cell();
    const [s1, s2] = [cell.session(), cell.session('bob')];
    const h = cell.open(s1, 'f');
    expect(cell.fails({ type: 'setContents', session: s2, handle: h, contents: bytes('x') }, 'HANDLE_UNKNOWN')).toContain(`not open in session ${s2}`);
    cell.fails({ type: 'close', session: s2, handle: h }, 'HANDLE_UNKNOWN');
    cell.ok({ type: 'close', session: s1, handle: h });
    cell.fails({ type: 'close', session: s1, handle: h }, 'HANDLE_UNKNOWN');
  });
});
