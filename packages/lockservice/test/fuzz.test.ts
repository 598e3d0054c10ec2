import { describe, expect, it } from '@jest/globals';
import { encode } from '@actorfs/actors';
import { LockDb, type LsOp, type SnapshotPiece } from '../src/index.ts';
import { Cell, randomOps, testConfig } from './helpers.ts';

const digest = (db: LockDb): Buffer => Buffer.from(encode([...db.snapshot()]));
/** The state but its clock, which every applied op may move on. */
const digestButTime = (db: LockDb): Buffer => Buffer.from(encode([...db.snapshot()].map((p) => ((p as SnapshotPiece).piece === 'meta' ? { ...(p as object), now: 0 } : p))));

describe('bad input never corrupts the database', () => {
  it('random ops, a fifth of them malformed: apply never throws, every invariant holds after each, and a refused op changes nothing', () => {
    let refusals = 0;
    let malformedRefusals = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const cell = new Cell(testConfig({ limits: { maxNodes: 30, maxHandlesPerSession: 12, maxSessions: 6 } }));
      const ops = randomOps(seed, 0.2);
      for (let i = 0; i < 500; i++) {
        cell.time += Math.floor(ops.random() * 400) - 50; // the leader's clock may even step back
        const op = ops.next(cell);
        const before = digestButTime(cell.db);
        const reason = cell.db.validate(op);
        const outcome = cell.apply(op as LsOp); // checks the invariants
        // What validate refuses, apply refuses with the same reason (no log slot is spent on it).
        if (reason !== undefined) expect(outcome).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: reason } });
        if (!outcome.ok) {
          refusals++;
          if (outcome.error.code === 'BAD_REQUEST') malformedRefusals++;
          expect(Buffer.compare(digestButTime(cell.db), before)).toBe(0);
        }
      }
    }
    expect(malformedRefusals).toBeGreaterThan(300);
    expect(refusals).toBeGreaterThan(malformedRefusals + 300);
  });

  it('the same ops give the same outcomes, events and state on every replica (apply is deterministic)', () => {
    const [a, b] = [new Cell(), new Cell()];
    const ops = randomOps(42, 0.05);
    let events = 0;
    for (let i = 0; i < 1000; i++) {
      const op = ops.next(a) as LsOp;
      a.time = b.time = 1000 + i * 37;
      const [x, y] = [a.apply(op), b.apply(op)];
      expect(y).toEqual(x);
      events += x.events?.length ?? 0;
    }
    expect(events).toBeGreaterThan(10);
    expect(Buffer.compare(digest(a.db), digest(b.db))).toBe(0);
  });

  it('a replica restored from a snapshot mid-run goes on exactly like the one it came from', () => {
    const a = new Cell();
    const ops = randomOps(7, 0.05);
    for (let i = 0; i < 500; i++) {
      a.time += 20;
      a.apply(ops.next(a) as LsOp);
    }
    const b = new Cell();
    b.db.restore(a.db.snapshot());
    for (let i = 0; i < 500; i++) {
      a.time = b.time = a.time + 20;
      const op = ops.next(a) as LsOp;
      expect(b.apply(op)).toEqual(a.apply(op));
    }
  });
});
