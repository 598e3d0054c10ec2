import { describe, expect, it } from '@jest/globals';
import { LockDb } from '../src/index.ts';
import { Cell, ROOT, bytes, testConfig } from './helpers.ts';

/** validate() and apply agree: an op validate refuses is refused by apply as BAD_REQUEST, with the same reason. */
function refused(cell: Cell, op: unknown): string {
  const reason = cell.db.validate(op);
  expect(reason).toBeDefined();
  expect(cell.fails(op as never, 'BAD_REQUEST')).toBe(reason);
  return reason!;
}

describe('limits and bad paths: clear errors', () => {
  it('contents are at most 256 KiB', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    cell.ok({ type: 'setContents', session: s, handle: h, contents: new Uint8Array(256 * 1024) });
    expect(refused(cell, { type: 'setContents', session: s, handle: h, contents: new Uint8Array(256 * 1024 + 1) })).toBe('setContents: contents: is 262145 bytes, over the limit of 262144');
    refused(cell, { type: 'open', session: s, path: `${ROOT}/g`, create: 'ifAbsent', contents: new Uint8Array(256 * 1024 + 1) });
  });

  it('refuses empty, "." and ".." components, a path outside the cell, and over-long paths or components', () => {
    const cell = new Cell();
    const s = cell.session();
    const open = (path: string) => refused(cell, { type: 'open', session: s, path, create: 'ifAbsent' });
    expect(open(`${ROOT}/a//b`)).toContain('a path component must not be empty');
    expect(open(`${ROOT}/a/`)).toContain('must not be empty');
    expect(open(`${ROOT}/.`)).toContain("must not be '.' or '..'");
    expect(open(`${ROOT}/a/../b`)).toContain("must not be '.' or '..'");
    expect(open('/ls/other/x')).toContain('is not in this cell');
    expect(open('ls/test/x')).toContain('is not in this cell');
    expect(open(`${ROOT}/${'x'.repeat(256)}`)).toContain('256 bytes, over the limit of 255');
    expect(open(`${ROOT}/${'a/'.repeat(600)}a`)).toContain('over the limit of 1024');
    expect(open(`${ROOT}/tab\there`)).toContain('control characters');
  });

  it('counts UTF-8 bytes, not characters, and refuses strings that are not valid UTF-8', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.open(s, 'ü'.repeat(127)); // 254 bytes
    expect(refused(cell, { type: 'open', session: s, path: `${ROOT}/${'ü'.repeat(128)}`, create: 'ifAbsent' })).toContain('256 bytes');
    expect(refused(cell, { type: 'open', session: s, path: `${ROOT}/bad\ud800`, create: 'ifAbsent' })).toContain('valid UTF-8');
    expect(refused(cell, { type: 'openSession', principal: 'x\udc00' })).toContain('valid UTF-8');
    cell.open(s, 'emoji-😀');
  });

  it('refuses malformed ops: not an object, unknown type, missing, mistyped or unknown fields', () => {
    const cell = new Cell();
    const s = cell.session();
    expect(refused(cell, null)).toBe('op must be an object with a type');
    expect(refused(cell, [1])).toBe('op must be an object with a type');
    expect(refused(cell, { type: 'format' })).toContain('unknown op type "format" (known: openSession, closeSession');
    expect(refused(cell, { type: 'close', session: s })).toBe('close: handle: missing');
    expect(refused(cell, { type: 'close', session: s, handle: -1 })).toBe('close: handle: must be a non-negative integer');
    expect(refused(cell, { type: 'close', session: s, handle: 1, force: true })).toBe('close: unknown field "force"');
    expect(refused(cell, { type: 'setContents', session: s, handle: 1, contents: 'text' })).toContain('must be bytes');
    expect(refused(cell, { type: 'acquire', session: s, handle: 1, mode: 'write' })).toContain('mode: must be one of exclusive, shared');
    expect(refused(cell, { type: 'open', session: s, path: `${ROOT}/x`, create: 'ifAbsent', events: ['contentsModified', 'contentsModified'] })).toContain('at most once');
    expect(refused(cell, { type: 'open', session: s, path: `${ROOT}/x`, create: 'ifAbsent', events: ['everything'] })).toContain('unknown event kind "everything"');
  });

  it('finds an unknown field beside a known one left undefined, and takes a known one left undefined alone', () => {
    const cell = new Cell();
    const s = cell.session();
    const h = cell.open(s, 'f');
    // As many keys as the fields with a value plus one: the unknown one must still be named.
    expect(refused(cell, { type: 'setContents', session: s, handle: h, contents: bytes('x'), ifGeneration: undefined, extra: 1 })).toBe('setContents: unknown field "extra"');
    expect(cell.db.validate({ type: 'setContents', session: s, handle: h, contents: bytes('x'), ifGeneration: undefined })).toBeUndefined();
    expect(refused(cell, { type: 'close', session: s, handle: h, term: undefined, extra: undefined })).toBe('close: unknown field "extra"');
  });

  it('refuses malformed queries the same way, and keeps answering', () => {
    const cell = new Cell();
    expect(cell.db.query({ type: 'dump' } as never)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('unknown query type "dump"') } });
    expect(cell.db.query(undefined as never)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(cell.db.query({ type: 'stat', session: 1 } as never)).toMatchObject({ ok: false, error: { message: 'stat: handle: missing' } });
    expect(cell.read({ type: 'sessions' })).toEqual({ sessions: [], secrets: [] });
  });

  it('each bound refuses the op past it with LIMIT_REACHED: sessions, handles per session, nodes, total bytes', () => {
    const cell = new Cell(testConfig({ limits: { maxSessions: 2, maxHandlesPerSession: 2, maxNodes: 3, maxTotalContentsBytes: 10 } }));
    const s = cell.session();
    cell.session();
    expect(cell.fails({ type: 'openSession', principal: 'x' }, 'LIMIT_REACHED')).toContain('maxSessions');
    const a = cell.open(s, 'a', { contents: bytes('12345678') });
    cell.open(s, 'b');
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/a`, create: 'never' }, 'LIMIT_REACHED')).toContain('maxHandlesPerSession');
    cell.ok({ type: 'close', session: s, handle: a });
    expect(cell.fails({ type: 'open', session: s, path: `${ROOT}/c`, create: 'ifAbsent' }, 'LIMIT_REACHED')).toContain('maxNodes');
    const again = cell.open(s, 'a', { create: 'never' });
    expect(cell.fails({ type: 'setContents', session: s, handle: again, contents: bytes('12345678901') }, 'LIMIT_REACHED')).toContain('maxTotalContentsBytes');
    cell.ok({ type: 'setContents', session: s, handle: again, contents: bytes('1234567890') });
  });

  it('the cell holds at most maxHandles handles in all sessions together', () => {
    const cell = new Cell(testConfig({ limits: { maxHandles: 3 } }));
    const [s1, s2] = [cell.session(), cell.session('bob')];
    cell.open(s1, 'a');
    cell.open(s1, 'a');
    cell.open(s2, 'a');
    expect(cell.fails({ type: 'open', session: s2, path: `${ROOT}/a`, create: 'never' }, 'LIMIT_REACHED')).toContain('maxHandles');
  });

  it('refuses a bad config at construction', () => {
    expect(() => new LockDb(testConfig({ defaultLockDelayMs: 60_001 }))).toThrow(/defaultLockDelayMs must be an integer from 0 to 60000/);
    expect(() => new LockDb(testConfig({ limits: { maxNodes: 0 } }))).toThrow(/maxNodes must be a positive integer/);
  });

  it('an op found well-formed is not checked again in the same cell config, but is in a stricter one', () => {
    const op = { type: 'setContents', session: 1, handle: 1, contents: new Uint8Array(100) };
    expect(new LockDb(testConfig()).validate(op)).toBeUndefined();
    expect(new LockDb(testConfig()).validate(op)).toBeUndefined();
    expect(new LockDb(testConfig({ limits: { maxContentsBytes: 10 } })).validate(op)).toMatch(/contents: is 100 bytes, over the limit of 10/);
  });
});
