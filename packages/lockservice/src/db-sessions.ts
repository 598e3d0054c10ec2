/** The lock database's rules for sessions: opened (the master hears of each), and ended by close or expiry. */
import { failure, type Outcome } from './errors.ts';
import type { LsResults } from './protocol.ts';
import type { DbState, LsSession } from './state.ts';
import { dropHandle, removeNode } from './db-namespace.ts';
import { ok, type Changes, type OpOf } from './db-records.ts';

export function openSession(state: DbState, op: OpOf<'openSession'>, changes: Changes): Outcome<LsResults['openSession']> {
  const { sessions, counters, config } = state;
  if (sessions.size >= config.limits.maxSessions) {
    return failure('LIMIT_REACHED', `the cell holds ${sessions.size} sessions, its limit (maxSessions)`);
  }
  const id = counters.nextSession++;
  const secret = op.secret ?? '';
  sessions.set(id, { id, principal: op.principal, secret, handles: new Set(), ephemerals: new Set() });
  changes.events.push({ kind: 'sessionOpened', session: id });
  return ok(secret === '' ? { session: id } : { session: id, secret });
}

/** Closes the session's handles (releasing its locks, with lock-delay if it expired) and deletes its ephemeral nodes. */
export function endSession(state: DbState, session: LsSession, expired: boolean, changes: Changes): void {
  for (const id of [...session.handles]) dropHandle(state, state.handles.get(id)!, expired, changes);
  // Deepest first: an ephemeral directory holds only ephemerals of its own session.
  for (const path of [...session.ephemerals].sort((a, b) => b.length - a.length)) removeNode(state, state.nodes.get(path)!, null, changes);
  state.sessions.delete(session.id);
}
