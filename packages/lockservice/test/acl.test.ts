import { describe, expect, it } from '@jest/globals';
import { Cell, ROOT, bytes } from './helpers.ts';

/** A cell with ACL files `writers` (alice, root) and `admins` (root), and a directory `d` whose write and change-ACL ACLs name them. */
function cellWithAcls() {
  const cell = new Cell();
  const admin = cell.session('root');
  cell.mkdir(admin, 'acl');
  cell.open(admin, 'acl/writers', { contents: bytes('alice\nroot\n') });
  cell.open(admin, 'acl/admins', { contents: bytes('root\n') });
  const d = cell.mkdir(admin, 'd');
  cell.ok({ type: 'setAcl', session: admin, handle: d, acl: { write: 'writers', changeAcl: 'admins' } });
  return { cell, admin, alice: cell.session('alice'), bob: cell.session('bob') };
}

describe('ACLs: files in the cell ACL directory', () => {
  it('a new node inherits its parent ACL names', () => {
    const { cell, alice } = cellWithAcls();
    const stat = cell.ok({ type: 'open', session: alice, path: `${ROOT}/d/f`, create: 'ifAbsent' }).stat;
    expect(stat.acl).toEqual({ read: null, write: 'writers', changeAcl: 'admins' });
  });

  it('writing needs the write permission; the denial names the permission, the node and the ACL file', () => {
    const { cell, alice, bob } = cellWithAcls();
    const fa = cell.open(alice, 'd/f');
    cell.ok({ type: 'setContents', session: alice, handle: fa, contents: bytes('x') });
    const fb = cell.open(bob, 'd/f', { create: 'never' });
    expect(cell.fails({ type: 'setContents', session: bob, handle: fb, contents: bytes('y') }, 'PERMISSION_DENIED')).toBe(
      `write permission denied on ${ROOT}/d/f: bob is not listed in its write ACL file ${ROOT}/acl/writers`,
    );
    expect(cell.fails({ type: 'open', session: bob, path: `${ROOT}/d/g`, create: 'ifAbsent' }, 'PERMISSION_DENIED')).toContain(`write permission denied on ${ROOT}/d`);
    cell.fails({ type: 'delete', session: bob, handle: fb }, 'PERMISSION_DENIED');
  });

  it('acquiring a lock needs write permission', () => {
    const { cell, alice, bob } = cellWithAcls();
    cell.open(alice, 'd/lock');
    const hb = cell.open(bob, 'd/lock', { create: 'never' });
    expect(cell.fails({ type: 'acquire', session: bob, handle: hb, mode: 'shared' }, 'PERMISSION_DENIED')).toContain('acquiring a lock needs write permission: write permission denied');
  });

  it('changing an ACL needs the change-ACL permission and bumps the ACL generation', () => {
    const { cell, admin, alice } = cellWithAcls();
    const fa = cell.open(alice, 'd/f');
    expect(cell.fails({ type: 'setAcl', session: alice, handle: fa, acl: { write: null } }, 'PERMISSION_DENIED')).toContain('changeAcl permission denied');
    const fr = cell.open(admin, 'd/f', { create: 'never' });
    expect(cell.ok({ type: 'setAcl', session: admin, handle: fr, acl: { read: 'admins' } }).stat).toMatchObject({ aclGeneration: 1, acl: { read: 'admins', write: 'writers' } });
  });

  it('reading needs the read permission: open, getContents and readdir', () => {
    const { cell, admin, alice } = cellWithAcls();
    const f = cell.open(admin, 'd/secret');
    const d = cell.open(admin, 'd', { create: 'never' });
    const aliceOnD = cell.open(alice, 'd', { create: 'never' });
    const aliceOnSecret = cell.open(alice, 'd/secret', { create: 'never' });
    cell.ok({ type: 'setAcl', session: admin, handle: f, acl: { read: 'admins' } });
    expect(cell.query({ type: 'getContentsAndStat', session: alice, handle: aliceOnSecret })).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
    cell.ok({ type: 'setAcl', session: admin, handle: d, acl: { read: 'admins' } });
    expect(cell.fails({ type: 'open', session: alice, path: `${ROOT}/d/secret`, create: 'never' }, 'PERMISSION_DENIED')).toContain('read permission denied');
    expect(cell.query({ type: 'readdir', session: alice, handle: aliceOnD })).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED', message: expect.stringContaining('read permission denied') } });
  });

  it('an ACL naming a missing file lets no one; editing the ACL file changes who may', () => {
    const { cell, admin, alice, bob } = cellWithAcls();
    const f = cell.open(admin, 'd/f');
    cell.ok({ type: 'setAcl', session: admin, handle: f, acl: { write: 'nobody-file' } });
    const fa = cell.open(alice, 'd/f', { create: 'never' });
    expect(cell.fails({ type: 'setContents', session: alice, handle: fa, contents: bytes('x') }, 'PERMISSION_DENIED')).toContain(`ACL file ${ROOT}/acl/nobody-file does not exist`);
    cell.ok({ type: 'setAcl', session: admin, handle: f, acl: { write: 'writers' } });
    const writers = cell.open(admin, 'acl/writers', { create: 'never' });
    cell.ok({ type: 'setContents', session: admin, handle: writers, contents: bytes('bob\n') });
    cell.fails({ type: 'setContents', session: alice, handle: fa, contents: bytes('x') }, 'PERMISSION_DENIED');
    cell.ok({ type: 'setContents', session: bob, handle: cell.open(bob, 'd/f', { create: 'never' }), contents: bytes('x') });
  });

  it('ACL names are checked like path components', () => {
    const { cell, admin } = cellWithAcls();
    const f = cell.open(admin, 'd/f');
    expect(cell.fails({ type: 'setAcl', session: admin, handle: f, acl: { write: '../x' } }, 'BAD_REQUEST')).toContain("an ACL file name must not contain '/'");
    cell.fails({ type: 'setAcl', session: admin, handle: f, acl: { owner: 'x' } as never }, 'BAD_REQUEST');
  });
});
