/**
 * The lock service's database: a pure, deterministic state machine. Every replica applies the
 * same ops in the same order and reaches the same state; time comes only from `meta.time` (the
 * leader's timestamp), never from a clock. A failed op changes nothing. The rules for each kind of
 * op live beside it: db-sessions, db-namespace, db-locks (and what they share, db-records).
 */
import { ballotString, compareBallots } from '@actorfs/paxos';
import type { ApplyMeta, ApplyOutcome, StateMachine } from './contract.ts';
import type { LsConfig } from './config.ts';
import { failure, type Outcome } from './errors.ts';
import { NO_TERM } from './protocol.ts';
import type { DbEvent, LsOp, LsOpType, LsQuery, LsQueryResult, LsResult, MasterTerm } from './protocol.ts';
import { restoreState, snapshotPieces } from './snapshot.ts';
import { emptyState, type DbState } from './state.ts';
import { validators } from './validate.ts';
import { unreachable } from './unreachable.ts';
import { acquire, checkSequencer, heldLocks, releaseLock } from './db-locks.ts';
import { deleteNode, dropHandle, getContentsAndStat, openHandle, readdir, setAcl, setContents } from './db-namespace.ts';
import { find, ok, sequencerOf, sessionOf, statOf, type Changes } from './db-records.ts';
import { endSession, openSession } from './db-sessions.ts';

export class LockDb implements StateMachine<LsOp, LsResult, LsQuery, Outcome<LsQueryResult>, DbEvent> {
  private state: DbState;
  private readonly check: ReturnType<typeof validators>;

  constructor(readonly config: LsConfig) {
    this.state = emptyState(config);
    this.check = validators(config);
  }

  validate(op: unknown): string | undefined {
    return this.check.op(op);
  }

  /** The state itself, for the invariants checker and tests. Read it, never change it. */
  inspect(): Readonly<DbState> {
    return this.state;
  }

  apply(op: LsOp, meta: ApplyMeta): ApplyOutcome<LsResult, DbEvent> {
    const problem = this.check.op(op);
    if (problem) return failure('BAD_REQUEST', problem);
    if (Number.isFinite(meta?.time) && meta.time > this.state.now) this.state.now = meta.time;
    const deposed = this.deposed(op.term ?? NO_TERM, op.type);
    if (deposed) return deposed;
    const changes: Changes = { events: [], freed: [] };
    const outcome = this.dispatch(op, changes);
    return changes.events.length > 0 ? { ...outcome, events: changes.events } : outcome;
  }

  query(q: LsQuery): Outcome<LsQueryResult> {
    const problem = this.check.query(q);
    if (problem) return failure('BAD_REQUEST', problem);
    switch (q.type) {
      case 'getContentsAndStat':
        return getContentsAndStat(this.state, q);
      case 'stat': {
        const found = find(this.state, q);
        return found.ok ? ok({ stat: statOf(found.node) }) : found;
      }
      case 'readdir':
        return readdir(this.state, q);
      case 'getSequencer': {
        const found = find(this.state, q);
        if (!found.ok) return found;
        const { handle, node } = found;
        if (handle.lock === null) return failure('NOT_HELD', `handle ${handle.id} does not hold the lock on ${node.path}`);
        return ok({ sequencer: sequencerOf(node, handle.lock) });
      }
      case 'checkSequencer':
        return checkSequencer(this.state, q.sequencer);
      case 'sessions': {
        const { sessions } = this.state;
        if (q.session === undefined) return ok({ sessions: [...sessions.keys()], secrets: [...sessions.values()].map((s) => s.secret) });
        const one = sessions.get(q.session);
        return ok(one ? { sessions: [one.id], secrets: [one.secret] } : { sessions: [], secrets: [] });
      }
      case 'sessionCount':
        return ok({ count: this.state.sessions.size });
      case 'ephemerals': {
        const session = sessionOf(this.state, q.session);
        return session.ok ? ok({ paths: [...session.result.ephemerals] }) : session;
      }
      case 'heldLocks':
        return ok(heldLocks(this.state, q.path));
      default:
        return unreachable(q, 'lock service database');
    }
  }

  snapshot(): Iterable<unknown> {
    return snapshotPieces(this.state);
  }

  restore(pieces: Iterable<unknown>): void {
    this.state = restoreState(this.config, pieces);
  }

  /**
   * The one rule against a deposed master: an op of a term older than the newest begun is refused,
   * whatever it is. A new master begins its term before it serves, so nothing it invalidated
   * caches for can be overtaken by an op its predecessors proposed without doing so.
   */
  private deposed(term: MasterTerm, type: LsOpType): Outcome<never> | undefined {
    const newest = this.state.masterTerm;
    if (compareBallots(term, newest) >= 0) return undefined;
    return failure('DEPOSED_MASTER', `${type} was proposed by the master of term ${ballotString(term)}, since deposed: the cell's master is at term ${ballotString(newest)}; ask it`);
  }

  private dispatch(op: LsOp, changes: Changes): Outcome<LsResult> {
    switch (op.type) {
      case 'beginTerm':
        this.state.masterTerm = { round: op.term.round, id: op.term.id };
        return ok({ term: { ...this.state.masterTerm } });
      case 'openSession':
        return openSession(this.state, op, changes);
      case 'closeSession':
      case 'expireSession': {
        const session = sessionOf(this.state, op.session);
        if (!session.ok) return session;
        endSession(this.state, session.result, op.type === 'expireSession', changes);
        return ok({ freed: changes.freed });
      }
      case 'open':
        return openHandle(this.state, op, changes);
      case 'close': {
        const found = find(this.state, op);
        if (!found.ok) return found;
        dropHandle(this.state, found.handle, false, changes);
        return ok({ freed: changes.freed });
      }
      case 'setContents':
        return setContents(this.state, op, changes);
      case 'delete':
        return deleteNode(this.state, op, changes);
      case 'setAcl':
        return setAcl(this.state, op, changes);
      case 'acquire':
        return acquire(this.state, op, changes);
      case 'release': {
        const found = find(this.state, op);
        if (!found.ok) return found;
        const { handle, node } = found;
        if (handle.lock === null) return failure('NOT_HELD', `handle ${handle.id} does not hold the lock on ${node.path}`);
        releaseLock(this.state, node, handle, false, changes);
        return ok({ freed: changes.freed });
      }
      default:
        return unreachable(op, 'lock service database');
    }
  }
}
