import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { gfsConfig } from '../src/config.ts';
import { PathTable } from '../src/namespace/path-table.ts';
import { ancestorsOf, hiddenName, parseHiddenName, PathError, validatePath } from '../src/namespace/path.ts';

const limits = gfsConfig();

function reason(path: unknown): string {
  try {
    validatePath(path, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(PathError);
    return (err as PathError).reason;
  }
  throw new Error(`${String(path)} was accepted`);
}

describe('path rules', () => {
  it('accepts absolute normalized paths and splits them into components', () => {
    expect(validatePath('/', limits).components).toEqual([]);
    expect(validatePath('/home/user/f.txt', limits).components).toEqual(['home', 'user', 'f.txt']);
    expect(validatePath('/ünï/日本', limits).components).toEqual(['ünï', '日本']);
    expect(validatePath(new TextEncoder().encode('/a/b'), limits).path).toBe('/a/b');
  });

  it('refuses relative paths, "." and "..", empty components and a trailing slash, each with a clear reason', () => {
    expect(reason('')).toBe('empty');
    expect(reason('home/user')).toMatch(/not absolute/);
    expect(reason('/home/../etc')).toMatch(/"\.\." is not allowed/);
    expect(reason('/home/./x')).toMatch(/"\." is not allowed/);
    expect(reason('/home//x')).toMatch(/empty component at position 2/);
    expect(reason('/home/')).toMatch(/ends with "\/"/);
    expect(reason('/a\u0000b')).toMatch(/NUL/);
    expect(reason(42)).toMatch(/not a string \(a number\)/);
    expect(reason(null)).toMatch(/a null/);
  });

  it('refuses names and paths over their byte limits, counting UTF-8 bytes', () => {
    expect(validatePath(`/${'a'.repeat(255)}`, limits).components[0]).toHaveLength(255);
    expect(reason(`/${'a'.repeat(256)}`)).toMatch(/component 1 is 256 bytes, over the limit of 255/);
    // 128 two-byte characters: 128 UTF-16 units but 256 bytes
    expect(reason(`/${'é'.repeat(128)}`)).toMatch(/256 bytes/);
    const long = `/${Array.from({ length: 20 }, () => 'x'.repeat(250)).join('/')}`;
    expect(reason(long)).toMatch(/over the limit of 4096/);
  });

  it('refuses bad UTF-8 bytes and strings with lone surrogates', () => {
    expect(reason(new Uint8Array([0x2f, 0xff, 0xfe]))).toBe('not valid UTF-8');
    expect(reason('/a\uD800b')).toMatch(/lone surrogate/);
    expect(reason('/a\uDC00')).toMatch(/lone surrogate/);
    expect(validatePath('/a\uD83D\uDE00', limits).components).toEqual(['a\u{1F600}']);
  });

  it('keeps the hidden names of deleted files for the master alone', () => {
    const hidden = hiddenName('f', 1234);
    expect(parseHiddenName(hidden)).toEqual({ name: 'f', deletedAtMs: 1234 });
    expect(parseHiddenName('f')).toBeUndefined();
    expect(reason(`/d/${hidden}`)).toMatch(/reserved for deleted files/);
  });

  it('lists ancestors root first', () => {
    expect(ancestorsOf('/a/b/c')).toEqual(['/', '/a', '/a/b']);
    expect(ancestorsOf('/a')).toEqual(['/']);
    expect(ancestorsOf('/')).toEqual([]);
  });
});

describe('the lookup table of full paths', () => {
  it('lists a directory\'s children without their subtrees, even where names sort around "/"', () => {
    const t = new PathTable<number>();
    for (const p of ['/', '/a', '/a/b', '/a/b/c', '/a/b-x', '/a/b.y', '/a/c', '/a0', '/a/b/c/d']) t.set(p, p.length);
    expect([...t.children('/a')].map(([p]) => p)).toEqual(['/a/b', '/a/b-x', '/a/b.y', '/a/c']);
    expect([...t.children('/')].map(([p]) => p)).toEqual(['/a', '/a0']);
    expect([...t.subtree('/a/b')].map(([p]) => p)).toEqual(['/a/b/c', '/a/b/c/d']);
    expect(t.get('/a/b-x')).toBe(6);
    expect(t.delete('/a/b-x')).toBe(true);
    expect(t.delete('/a/b-x')).toBe(false);
    expect([...t.children('/a')].map(([p]) => p)).toEqual(['/a/b', '/a/b.y', '/a/c']);
  });

  it('agrees with a plain map and a sort over thousands of random inserts and deletes (blocks split and vanish)', () => {
    const rand = seededRandom(7);
    const t = new PathTable<number>();
    const model = new Map<string, number>();
    const names = ['a', 'b', 'ab', 'a-b', 'z', 'é'];
    for (let i = 0; i < 8_000; i++) {
      const depth = 1 + Math.floor(rand() * 3);
      const path = `/${Array.from({ length: depth }, () => names[Math.floor(rand() * names.length)]).join('/')}${Math.floor(rand() * 50)}`;
      if (rand() < 0.3) {
        expect(t.delete(path)).toBe(model.delete(path));
      } else {
        t.set(path, i);
        model.set(path, i);
      }
    }
    expect(t.size).toBe(model.size);
    const componentwise = (a: string, b: string): number => {
      const x = a.split('/');
      const y = b.split('/');
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
      return x.length - y.length;
    };
    expect([...t.entries()]).toEqual([...model].sort(([a], [b]) => componentwise(a, b)));
    const under = [...model.keys()].filter((p) => p.startsWith('/a/')).sort(componentwise);
    expect([...t.subtree('/a')].map(([p]) => p)).toEqual(under);
  });
});
