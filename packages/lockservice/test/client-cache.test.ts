import { describe, expect, it } from '@jest/globals';
import { ClientCache, MAX_CACHED_FILES } from '../src/client-cache.ts';
import type { Stat } from '../src/index.ts';
import type { CachedFile } from '../src/local-view.ts';

const file = (text: string, contentGeneration: number): CachedFile => ({ contents: new TextEncoder().encode(text), stat: { contentGeneration } as Stat });

describe("a client's cache keeps a copy only if nothing changed the file while it was on its way", () => {
  it('keeps a copy that arrives undisturbed, and drops nothing else with it', () => {
    const cache = new ClientCache();
    const f = cache.expect('/f');
    const g = cache.expect('/g');
    cache.forget('/g');
    cache.arrived(f, file('v1', 1));
    cache.arrived(g, file('old', 1));
    expect(cache.get('/f')).toEqual(file('v1', 1));
    expect(cache.get('/g')).toBeUndefined();
  });

  it("a read's answer that was on its way when the client's own write of the file began is not kept", () => {
    const cache = new ClientCache();
    const read = cache.expect('/f');
    cache.forget('/f');
    const write = cache.expect('/f', true);
    cache.arrived(write, file('v2', 2));
    cache.arrived(read, file('v1', 1));
    expect(cache.get('/f')).toEqual(file('v2', 2));
  });

  it("a read's answer asked for while the client's own write of the file is under way is not kept, even if it arrives after the write's", () => {
    const cache = new ClientCache();
    const write = cache.expect('/f', true);
    const read = cache.expect('/f');
    cache.arrived(write, undefined);
    cache.arrived(read, file('v1', 1));
    expect(cache.get('/f')).toBeUndefined();
    const after = cache.expect('/f');
    cache.arrived(after, file('v2', 2));
    expect(cache.get('/f')).toEqual(file('v2', 2));
  });

  it('a copy on its way during an invalidation or a flush is not kept; one asked for after is', () => {
    const cache = new ClientCache();
    const before = cache.expect('/f');
    cache.flush();
    const after = cache.expect('/f');
    cache.arrived(before, file('v1', 1));
    expect(cache.get('/f')).toBeUndefined();
    cache.arrived(after, file('v2', 2));
    expect(cache.get('/f')).toEqual(file('v2', 2));
    expect(cache.size).toBe(1);
  });

  it(`keeps ${MAX_CACHED_FILES} files at most, dropping the oldest`, () => {
    const cache = new ClientCache();
    for (let i = 0; i <= MAX_CACHED_FILES; i++) cache.arrived(cache.expect(`/f${i}`), file('x', 1));
    expect(cache.size).toBe(MAX_CACHED_FILES);
    expect(cache.get('/f0')).toBeUndefined();
    expect(cache.get(`/f${MAX_CACHED_FILES}`)).toBeDefined();
  });
});
