import { expect } from '@jest/globals';
import { seededRandom, type Random } from '@actorfs/actors';
import {
  LockDb,
  checkInvariants,
  checkProgress,
  lsConfig,
  progressOf,
  type ApplyOutcome,
  type EventKind,
  type HandleId,
  type LsConfig,
  type DbEvent,
  type LsErrorCode,
  type LsOp,
  type LsQuery,
  type LsQueryResults,
  type LsResult,
  type LsResults,
  type Outcome,
  type SessionId,
} from '../src/index.ts';

export const CELL = 'test';
export const ROOT = `/ls/${CELL}`;
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

export function testConfig(overrides: Parameters<typeof lsConfig>[1] = {}): LsConfig {
  return lsConfig(CELL, { defaultLockDelayMs: 1000, ...overrides });
}

type OpOf<T extends LsOp['type']> = Extract<LsOp, { type: T }>;
type QueryOf<T extends LsQuery['type']> = Extract<LsQuery, { type: T }>;

/**
 * Drives a database as a learner would: one op per slot, with the leader's time, which tests
 * move by hand. After every op it checks every invariant and that nothing that must grow went back.
 */
export class Cell {
  readonly db: LockDb;
  time = 1_000;
  private slot = 0;

  constructor(config: LsConfig = testConfig()) {
    this.db = new LockDb(config);
  }

  apply(op: LsOp): ApplyOutcome<LsResult, DbEvent> {
    const before = progressOf(this.db.inspect());
    const outcome = this.db.apply(op, { slot: ++this.slot, index: 0, time: this.time });
    const problems = [...checkInvariants(this.db.inspect()), ...checkProgress(before, this.db.inspect())];
    if (problems.length > 0) throw new Error(`after ${JSON.stringify(op)}: ${problems.join('; ')}`);
    return outcome;
  }

  /** Applies an op that must succeed; returns its result. */
  ok<T extends LsOp['type']>(op: OpOf<T> & { type: T }): LsResults[T] {
    const outcome = this.apply(op);
    if (!outcome.ok) throw new Error(`${op.type} failed: ${outcome.error.code}: ${outcome.error.message}`);
    return outcome.result as LsResults[T];
  }

  /** Applies an op that must fail with `code`; returns the error's message. */
  fails(op: LsOp, code: LsErrorCode): string {
    const outcome = this.apply(op);
    if (outcome.ok) throw new Error(`${op.type} succeeded, expected ${code}`);
    expect(outcome.error.code).toBe(code);
    return outcome.error.message;
  }

  /** The events an op emitted. */
  events(op: LsOp): DbEvent[] {
    return this.apply(op).events ?? [];
  }

  query<T extends LsQuery['type']>(q: QueryOf<T> & { type: T }): Outcome<LsQueryResults[T]> {
    return this.db.query(q) as Outcome<LsQueryResults[T]>;
  }

  read<T extends LsQuery['type']>(q: QueryOf<T> & { type: T }): LsQueryResults[T] {
    const outcome = this.db.query(q) as Outcome<LsQueryResults[T]>;
    if (!outcome.ok) throw new Error(`${q.type} failed: ${outcome.error.code}: ${outcome.error.message}`);
    return outcome.result;
  }

  session(principal = 'alice'): SessionId {
    return this.ok({ type: 'openSession', principal }).session;
  }

  /** Opens `path` (relative to the cell root; empty for the root), creating a file if absent. */
  open(session: SessionId, path: string, options: Partial<OpOf<'open'>> = {}): HandleId {
    return this.ok({ type: 'open', session, path: path === '' ? ROOT : `${ROOT}/${path}`, create: 'ifAbsent', ...options }).handle;
  }

  mkdir(session: SessionId, path: string, options: Partial<OpOf<'open'>> = {}): HandleId {
    return this.open(session, path, { kind: 'dir', ...options });
  }

  watch(session: SessionId, path: string, events: EventKind[]): HandleId {
    return this.open(session, path, { create: 'never', events });
  }
}

/**
 * Random ops over a small namespace and few sessions, so they collide: most are well-formed,
 * some name unknown sessions, handles or paths, and a share are malformed in random ways.
 */
export function randomOps(seed: number, malformedShare = 0.1): { next: (cell: { db: LockDb }) => unknown; random: Random } {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (n: number) => Math.floor(random() * n);
  const names = ['a', 'b', 'c', 'acl'];
  const path = () => {
    const depth = 1 + int(3);
    return `${ROOT}/${Array.from({ length: depth }, () => pick(names)).join('/')}`;
  };
  const liveSession = (cell: { db: LockDb }) => {
    const ids = [...cell.db.inspect().sessions.keys()];
    return ids.length > 0 && random() < 0.9 ? pick(ids) : int(20);
  };
  const liveHandle = (cell: { db: LockDb }, session: number) => {
    const ids = [...(cell.db.inspect().sessions.get(session)?.handles ?? [])];
    return ids.length > 0 && random() < 0.9 ? pick(ids) : int(50);
  };
  const events = (): EventKind[] => ['contentsModified', 'childAdded', 'childRemoved', 'childModified', 'lockAcquired', 'conflictingLock', 'handleInvalid'].filter(() => random() < 0.5) as EventKind[];
  const contents = () => (random() < 0.2 ? bytes(pick(['alice', 'bob', 'alice\nbob', ''])) : Uint8Array.from({ length: int(300) }, () => int(256)));

  const wellFormed = (cell: { db: LockDb }): LsOp => {
    const session = liveSession(cell);
    const handle = liveHandle(cell, session);
    const r = random();
    if (r < 0.06) return { type: 'openSession', principal: pick(['alice', 'bob', 'carol']) };
    if (r < 0.08) return { type: 'closeSession', session };
    if (r < 0.11) return { type: 'expireSession', session };
    if (r < 0.35) {
      return { type: 'open', session, path: path(), create: pick(['never', 'ifAbsent', 'exclusive'] as const), kind: pick(['file', 'dir'] as const), ephemeral: random() < 0.3, events: events() };
    }
    if (r < 0.42) return { type: 'close', session, handle };
    if (r < 0.55) return random() < 0.5 ? { type: 'setContents', session, handle, contents: contents() } : { type: 'setContents', session, handle, contents: contents(), ifGeneration: int(3) };
    if (r < 0.6) return { type: 'delete', session, handle };
    if (r < 0.64) return { type: 'setAcl', session, handle, acl: { [pick(['read', 'write', 'changeAcl'])]: pick([null, 'alice', 'bob', 'missing']) } };
    if (r < 0.85) return { type: 'acquire', session, handle, mode: pick(['exclusive', 'shared'] as const), lockDelayMs: pick([0, 100, 1000]) };
    return { type: 'release', session, handle };
  };

  const oversize = new Uint8Array(300 * 1024);
  const junk = (): unknown =>
    pick<unknown>([null, 42, 'x', [], {}, -1, 1.5, NaN, Infinity, { type: 'nope' }, `${ROOT}/../x`, `${ROOT}//x`, `${ROOT}/\ud800`, `/ls/other/x`, 'a'.repeat(2000), true, oversize]);
  const malformed = (cell: { db: LockDb }): unknown => {
    const op = { ...wellFormed(cell) } as Record<string, unknown>;
    const keys = Object.keys(op);
    const r = random();
    if (r < 0.4) op[pick(keys.filter((k) => k !== 'type').concat('type'))] = junk();
    else if (r < 0.6) delete op[pick(keys)];
    else if (r < 0.8) op[pick(['extra', 'ifGeneration', 'lockDelayMs', 'events', 'acl'])] = junk();
    else return junk();
    return op;
  };
  return { random, next: (cell) => (random() < malformedShare ? malformed(cell) : wellFormed(cell)) };
}
