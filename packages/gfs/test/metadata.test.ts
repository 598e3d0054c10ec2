import { describe, expect, it } from '@jest/globals';
import { decode, encode, seededRandom } from '@actorfs/actors';
import { MasterMetadata, MetadataError, type CheckpointPiece } from '../src/master/metadata.ts';
import type { MetadataRecord } from '../src/master/records.ts';
import { hiddenName } from '../src/namespace/path.ts';

function build(records: MetadataRecord[]): MasterMetadata {
  const m = new MasterMetadata();
  for (const r of records) m.apply(r);
  return m;
}

function refused(m: MasterMetadata, record: MetadataRecord): MetadataError {
  const before = m.dump();
  try {
    m.apply(record);
  } catch (err) {
    expect(err).toBeInstanceOf(MetadataError);
    expect(m.dump()).toEqual(before);
    return err as MetadataError;
  }
  throw new Error(`${JSON.stringify(record)} was applied`);
}

describe('master metadata', () => {
  it('files map to chunk handles; a new chunk starts at version 1 and handles are never reused', () => {
    const m = build([
      { type: 'mkdir', path: '/d' },
      { type: 'create', path: '/d/f' },
      { type: 'add-chunk', path: '/d/f', handle: 1 },
      { type: 'add-chunk', path: '/d/f', handle: 5 },
      { type: 'set-version', handle: 5, version: 3 },
    ]);
    expect(m.get('/d/f')).toEqual({ kind: 'file', chunks: [1, 5] });
    expect(m.chunk(5)).toEqual({ version: 3, refs: 1 });
    expect(m.newHandle()).toBe(6);
    expect(refused(m, { type: 'add-chunk', path: '/d/f', handle: 4 }).message).toMatch(/already given out/);
    expect(refused(m, { type: 'set-version', handle: 5, version: 3 }).message).toMatch(/not above 3/);
  });

  it('a mutation that does not fit the namespace is refused with a clear error and changes nothing', () => {
    const m = build([
      { type: 'mkdir', path: '/d' },
      { type: 'create', path: '/d/f' },
    ]);
    expect(refused(m, { type: 'create', path: '/d/f' }).code).toBe('exists');
    expect(refused(m, { type: 'create', path: '/nope/f' }).code).toBe('not-found');
    expect(refused(m, { type: 'create', path: '/d/f/g' }).code).toBe('not-a-directory');
    expect(refused(m, { type: 'rmdir', path: '/d' }).code).toBe('not-empty');
    expect(refused(m, { type: 'add-chunk', path: '/d', handle: 9 }).code).toBe('not-a-file');
    expect(refused(m, { type: 'rename', from: '/d', to: '/d/x' }).message).toMatch(/lies within/);
    expect(refused(m, { type: 'set-version', handle: 77, version: 2 }).message).toMatch(/chunk 77 is unknown/);
    expect(refused(m, { type: 'mkdir', path: 3 } as unknown as MetadataRecord).message).toMatch(/path must be a string/);
    expect(refused(m, { type: 'format-disk' } as unknown as MetadataRecord).message).toMatch(/unknown record type "format-disk"/);
  });

  it('rename moves a directory with its whole subtree', () => {
    const m = build([
      { type: 'mkdir', path: '/a' },
      { type: 'mkdir', path: '/a/b' },
      { type: 'create', path: '/a/b/f' },
      { type: 'mkdir', path: '/z' },
      { type: 'rename', from: '/a', to: '/z/a2' },
    ]);
    expect(m.get('/a')).toBeUndefined();
    expect(m.get('/z/a2/b/f')).toEqual({ kind: 'file', chunks: [] });
    expect(m.list('/z/a2').map((c) => c.name)).toEqual(['b']);
  });

  it('delete renames the file to a hidden name with the deletion time; undelete brings it back', () => {
    const m = build([
      { type: 'create', path: '/f' },
      { type: 'add-chunk', path: '/f', handle: 1 },
      { type: 'delete', path: '/f', atMs: 1000 },
    ]);
    expect(m.get('/f')).toBeUndefined();
    expect(m.list('/')).toEqual([{ name: hiddenName('f', 1000), entry: { kind: 'file', chunks: [1] } }]);
    expect(m.deletedVersionsOf('/f')).toEqual([`/${hiddenName('f', 1000)}`]);
    // deletion times only grow, so a second deletion of a new /f gets another hidden name
    expect(refused(m, { type: 'delete', path: '/f', atMs: 1000 }).code).toBe('not-found');
    m.apply({ type: 'create', path: '/f' });
    expect(m.deletionTime(900)).toBe(1001);
    expect(refused(m, { type: 'delete', path: '/f', atMs: 1000 }).message).toMatch(/not after the last one/);
    expect(refused(m, { type: 'undelete', hiddenPath: `/${hiddenName('f', 1000)}` }).code).toBe('exists');
    m.apply({ type: 'rename', from: '/f', to: '/g' });
    m.apply({ type: 'undelete', hiddenPath: `/${hiddenName('f', 1000)}` });
    expect(m.get('/f')).toEqual({ kind: 'file', chunks: [1] });
  });

  it('chunks of deleted files only are told apart from chunks of live files (re-replication serves live files first)', () => {
    const m = build([
      { type: 'create', path: '/f' },
      { type: 'add-chunk', path: '/f', handle: 1 },
      { type: 'create', path: '/g' },
      { type: 'add-chunk', path: '/g', handle: 2 },
      { type: 'snapshot', source: '/g', target: '/h' },
      { type: 'delete', path: '/f', atMs: 10 },
      { type: 'delete', path: '/g', atMs: 11 },
    ]);
    expect([...m.liveFileChunks()]).toEqual([2]); // chunk 2 lives on in the snapshot /h
  });

  it('a deleted file is reclaimed only after the delay, and its chunks are forgotten', () => {
    const m = build([
      { type: 'create', path: '/f' },
      { type: 'add-chunk', path: '/f', handle: 1 },
      { type: 'create', path: '/g' },
      { type: 'delete', path: '/f', atMs: 1000 },
      { type: 'delete', path: '/g', atMs: 5000 },
    ]);
    const day = 86_400_000;
    expect(m.dueForReclaim(1000 + day - 1, day, 10)).toEqual([]);
    expect(m.dueForReclaim(1000 + day, day, 10)).toEqual([`/${hiddenName('f', 1000)}`]);
    expect(m.dueForReclaim(5000 + day, day, 1)).toHaveLength(1);
    m.apply({ type: 'reclaim', hiddenPath: `/${hiddenName('f', 1000)}` });
    expect(m.chunk(1)).toBeUndefined();
    expect(m.list('/').map((c) => c.name)).toEqual([hiddenName('g', 5000)]);
    expect(refused(m, { type: 'reclaim', hiddenPath: '/g' }).message).toMatch(/not a deleted file's name/);
  });

  it('a snapshot shares chunks by reference count; copy-on-write gives the written copy its own chunk at the same version', () => {
    const m = build([
      { type: 'mkdir', path: '/home' },
      { type: 'create', path: '/home/f' },
      { type: 'add-chunk', path: '/home/f', handle: 1 },
      { type: 'add-chunk', path: '/home/f', handle: 2 },
      { type: 'set-version', handle: 2, version: 4 },
      { type: 'create', path: '/home/gone' },
      { type: 'delete', path: '/home/gone', atMs: 10 },
      { type: 'snapshot', source: '/home', target: '/save' },
    ]);
    expect(m.get('/save/f')).toEqual({ kind: 'file', chunks: [1, 2] });
    expect(m.list('/save').map((c) => c.name)).toEqual(['f']); // deleted files are not copied
    expect(m.chunk(2)).toEqual({ version: 4, refs: 2 });
    m.apply({ type: 'copy-on-write', path: '/home/f', index: 1, handle: 3 });
    expect(m.get('/home/f')).toEqual({ kind: 'file', chunks: [1, 3] });
    expect(m.get('/save/f')).toEqual({ kind: 'file', chunks: [1, 2] });
    expect(m.chunk(2)).toEqual({ version: 4, refs: 1 });
    expect(m.chunk(3)).toEqual({ version: 4, refs: 1 });
    expect(refused(m, { type: 'copy-on-write', path: '/home/f', index: 1, handle: 4 }).message).toMatch(/not shared/);
    // deleting and reclaiming the original keeps the snapshot's chunks
    m.apply({ type: 'delete', path: '/home/f', atMs: 20 });
    m.apply({ type: 'reclaim', hiddenPath: `/home/${hiddenName('f', 20)}` });
    expect(m.chunk(1)).toEqual({ version: 1, refs: 1 });
    expect(m.chunk(2)).toEqual({ version: 4, refs: 1 });
    expect(m.chunk(3)).toBeUndefined();
  });

  it('a checkpoint at any point plus the records after it rebuilds the same metadata (random workloads)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const log = randomWorkload(seed, 300);
      const all = build(log).dump();
      const rand = seededRandom(seed * 7919);
      for (let trial = 0; trial < 4; trial++) {
        const k = Math.floor(rand() * (log.length + 1));
        const rows = 1 + Math.floor(rand() * 8);
        const pieces = build(log.slice(0, k)).checkpoint(rows);
        expect(pieces.every((p) => p.type === 'header' || p.rows.length <= rows)).toBe(true);
        // through the codec, as the pieces would go to and come back from storage
        const restored = MasterMetadata.restore(pieces.map((p) => decode(encode(p)) as CheckpointPiece));
        for (const r of log.slice(k)) restored.apply(r);
        expect({ seed, k, state: restored.dump() }).toEqual({ seed, k, state: all });
      }
    }
  });

  it('a checkpoint with a piece missing is refused', () => {
    const pieces = build(randomWorkload(3, 200)).checkpoint(5);
    expect(pieces.length).toBeGreaterThan(3);
    expect(() => MasterMetadata.restore(pieces.filter((_, i) => i !== 2))).toThrow(/checkpoint incomplete/);
    expect(() => MasterMetadata.restore(pieces.slice(1))).toThrow(/no header/);
  });
});

/** Records that apply cleanly, drawn at random over a small namespace so operations collide. */
function randomWorkload(seed: number, length: number): MetadataRecord[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const m = new MasterMetadata();
  const log: MetadataRecord[] = [];
  let now = 0;
  const dirs = ['/a', '/b', '/a/c', '/b/d', '/s', '/s/t'];
  const targets = [...dirs, ...dirs.flatMap((d) => ['f', 'g'].map((n) => `${d}/${n}`))];
  while (log.length < length) {
    now += Math.floor(rand() * 1000);
    // sources come from what exists (snapshots and renames grow the tree beyond `targets`)
    const entries = m.dump().namespace.filter(([p]) => p !== '/');
    const hidden = entries.filter(([p]) => p.includes('.deleted~')).map(([p]) => p);
    const live = entries.filter(([p]) => !p.includes('.deleted~'));
    const files = live.filter(([, e]) => e.kind === 'file').map(([p]) => p);
    const chunks = files.flatMap((p) => (m.get(p) as { chunks: number[] }).chunks.map((h, index) => ({ p, h, index })));
    const r = rand();
    let record: MetadataRecord | undefined;
    if (r < 0.15) record = { type: 'mkdir', path: pick(targets) };
    else if (r < 0.35) record = { type: 'create', path: pick(targets) };
    else if (r < 0.55 && files.length > 0) record = { type: 'add-chunk', path: pick(files), handle: m.newHandle() + Math.floor(rand() * 3) };
    else if (r < 0.62 && chunks.length > 0) {
      const { h } = pick(chunks);
      record = { type: 'set-version', handle: h, version: m.chunk(h)!.version + 1 + Math.floor(rand() * 2) };
    } else if (r < 0.7 && files.length > 0) record = { type: 'delete', path: pick(files), atMs: m.deletionTime(now) };
    else if (r < 0.75 && hidden.length > 0) record = { type: rand() < 0.5 ? 'undelete' : 'reclaim', hiddenPath: pick(hidden) };
    else if (r < 0.82 && live.length > 0) record = { type: 'rename', from: pick(live)[0], to: pick(targets) };
    else if (r < 0.9 && live.length > 0) record = { type: 'snapshot', source: pick(live)[0], target: pick(targets) };
    else if (r < 0.96 && chunks.length > 0) {
      const { p, index } = pick(chunks);
      record = { type: 'copy-on-write', path: p, index, handle: m.newHandle() };
    } else if (live.length > 0) record = { type: 'rmdir', path: pick(live)[0] };
    if (!record) continue;
    try {
      m.apply(record);
      log.push(record);
    } catch (err) {
      if (!(err instanceof MetadataError)) throw err;
    }
  }
  return log;
}
