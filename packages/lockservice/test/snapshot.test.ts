import { describe, expect, it } from '@jest/globals';
import { decode, encode, seededRandom } from '@actorfs/actors';
import { LockDb, checkInvariants, type LsOp, type LsResults, type SnapshotPiece } from '../src/index.ts';
import { Cell, ROOT, bytes, randomOps, testConfig } from './helpers.ts';

/**
 * A large random state built straight on the database (checking invariants once at the end):
 * directories of files with contents up to 256 KiB, sessions with handles, locks in both
 * modes, ephemerals, ACLs, and locks in lock-delay after expiries.
 */
function largeState(seed: number): LockDb {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const db = new LockDb(testConfig());
  let slot = 0;
  const apply = <T extends LsOp['type']>(op: Extract<LsOp, { type: T }>): LsResults[T] | undefined => {
    const outcome = db.apply(op, { slot: ++slot, index: 0, time: 1000 + slot });
    return outcome.ok ? (outcome.result as LsResults[T]) : undefined;
  };
  const sessions = Array.from({ length: 300 }, (_, i) => apply({ type: 'openSession', principal: `user${i % 20}` })!.session);
  const s0 = sessions[0]!;
  apply({ type: 'open', session: s0, path: `${ROOT}/acl`, create: 'ifAbsent', kind: 'dir' });
  apply({ type: 'open', session: s0, path: `${ROOT}/acl/staff`, create: 'ifAbsent', contents: bytes('user1\nuser2\n') });
  for (let d = 0; d < 25; d++) {
    const dir = apply({ type: 'open', session: s0, path: `${ROOT}/d${d}`, create: 'ifAbsent', kind: 'dir' })!;
    if (d % 5 === 0) apply({ type: 'setAcl', session: s0, handle: dir.handle, acl: { read: 'staff' } });
    for (let f = 0; f < 120; f++) {
      let contents = Uint8Array.from({ length: int(600) }, () => int(256));
      if (random() < 0.01) contents = Uint8Array.from({ length: 256 * 1024 }, (_, i) => contents[i % contents.length] ?? i & 0xff);
      const session = sessions[int(sessions.length)]!;
      const opened = apply({
        type: 'open',
        session,
        path: `${ROOT}/d${d}/f${f}`,
        create: 'ifAbsent',
        ephemeral: random() < 0.2,
        contents,
        events: random() < 0.5 ? ['contentsModified', 'lockAcquired'] : [],
      });
      if (!opened) continue;
      if (random() < 0.3) apply({ type: 'setContents', session, handle: opened.handle, contents: bytes(`v${f}`) });
      if (random() < 0.3) apply({ type: 'acquire', session, handle: opened.handle, mode: random() < 0.5 ? 'exclusive' : 'shared', lockDelayMs: int(60_001) });
      if (random() < 0.2) apply({ type: 'close', session, handle: opened.handle });
    }
  }
  for (const session of sessions.slice(0, 30)) apply({ type: 'expireSession', session });
  expect(checkInvariants(db.inspect())).toEqual([]);
  return db;
}

/** The pieces as a learner ships them: msgpack-encoded, one by one. */
const shipped = (db: LockDb): Uint8Array[] => [...db.snapshot()].map((piece) => encode(piece));

describe('snapshots in pieces', () => {
  const source = largeState(1);
  const pieces = shipped(source);

  it('the large state really is large: thousands of nodes and handles, megabytes of contents', () => {
    const state = source.inspect();
    expect(state.nodes.size).toBeGreaterThan(2500);
    expect(state.handles.size).toBeGreaterThan(1800);
    expect(state.sessions.size).toBe(270);
    expect(state.totalContentsBytes).toBeGreaterThan(4 * 1024 * 1024);
    expect([...state.nodes.values()].some((n) => n.lockFreeAt > state.now)).toBe(true);
    expect([...state.handles.values()].filter((h) => h.lock === 'shared').length).toBeGreaterThan(100);
  });

  it('each piece is small: under 1 MiB encoded, and near 64 KiB unless it carries one large file', () => {
    expect(pieces.length).toBeGreaterThan(50);
    for (const piece of pieces) expect(piece.byteLength).toBeLessThan(1024 * 1024);
    const large = pieces.filter((p) => p.byteLength > 128 * 1024);
    expect(large.length).toBeGreaterThan(0);
    for (const p of large) expect((decode(p) as Extract<SnapshotPiece, { piece: 'nodes' }>).nodes).toHaveLength(1);
  });

  it('restore(snapshot()) through msgpack yields an identical state: the same pieces, byte for byte', () => {
    const copy = new LockDb(testConfig());
    copy.restore(pieces.map((p) => decode(p)));
    const again = shipped(copy);
    expect(again.length).toBe(pieces.length);
    again.forEach((p, i) => expect(Buffer.compare(Buffer.from(p), Buffer.from(pieces[i]!))).toBe(0));
  });

  it('the restored state answers and moves on exactly like the original', () => {
    // Straight on the databases: checking every invariant of this large state after each op would take minutes.
    const [original, copy] = [new Cell(), new Cell()];
    original.db.restore(pieces.map((p) => decode(p)));
    copy.db.restore(pieces.map((p) => decode(p)));
    const ops = randomOps(3, 0.05);
    for (let i = 0; i < 300; i++) {
      const op = ops.next(original) as LsOp;
      const meta = { slot: i + 1, index: 0, time: original.db.inspect().now + 100 };
      expect(copy.db.apply(op, meta)).toEqual(original.db.apply(op, meta));
    }
    expect(checkInvariants(copy.db.inspect())).toEqual([]);
    expect(Buffer.compare(Buffer.from(encode([...copy.db.snapshot()])), Buffer.from(encode([...original.db.snapshot()])))).toBe(0);
    const session = [...original.db.inspect().sessions.values()].find((s) => s.handles.size > 0)!;
    const handle = [...session.handles][0]!;
    expect(copy.db.query({ type: 'getContentsAndStat', session: session.id, handle })).toEqual(original.db.query({ type: 'getContentsAndStat', session: session.id, handle }));
  });

  it('restore replaces the current state', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.open(s, 'only-here');
    cell.db.restore(pieces.map((p) => decode(p)));
    expect(cell.db.inspect().nodes.has(`${ROOT}/only-here`)).toBe(false);
    expect(cell.db.inspect().nodes.size).toBe(source.inspect().nodes.size);
  });

  it('refuses pieces that do not make a valid database, and keeps its own state', () => {
    const cell = new Cell();
    const s = cell.session();
    cell.open(s, 'mine');
    const good = [...source.snapshot()] as SnapshotPiece[];
    const nodesAt = good.findIndex((p) => p.piece === 'nodes');
    const corruptNode = (i: number, change: object): SnapshotPiece[] =>
      good.map((p, j) => (j === nodesAt ? { piece: 'nodes', nodes: (p as Extract<SnapshotPiece, { piece: 'nodes' }>).nodes.map((n, k) => (k === i ? { ...n, ...change } : n)) } : p));
    const cases: [SnapshotPiece[] | unknown[], RegExp][] = [
      [[], /no pieces/],
      [good.slice(1), /first piece must be meta/],
      [good.slice(0, -1), /incomplete/],
      [[{ ...good[0]!, cell: 'other' }, ...good.slice(1)], /of cell "other"/],
      [[good[0], { piece: 'mystery' }], /unknown piece "mystery"/],
      [corruptNode(3, { checksum: 1 }), /breaks invariants: node .* has checksum 1/],
      [corruptNode(0, { kind: 'file' }), /breaks invariants/],
      [[good[0], ...good.slice(1).reverse()], /before its directory|missing session or node/],
    ];
    for (const [bad, message] of cases) {
      expect(() => cell.db.restore(bad)).toThrow(message);
      expect(cell.db.inspect().nodes.has(`${ROOT}/mine`)).toBe(true);
    }
  });
});
