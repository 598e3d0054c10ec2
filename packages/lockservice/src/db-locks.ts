/** The lock database's rules for locks: acquire (with attempts), release with lock-delay, sequencers. */
import { denial } from './acl.ts';
import { failure, lockDelay, type Outcome } from './errors.ts';
import { MAX_HELD_LOCKS_LISTED } from './protocol.ts';
import type { HeldLock, LsQueryResults, LsResults, Sequencer } from './protocol.ts';
import type { DbState, HandleRecord, LsNode } from './state.ts';
import { find, lockModeOf, notify, ok, sequencerOf, type Changes, type Found, type OpOf } from './db-records.ts';

/** An acquire; a `final` one decides its attempt, whatever the answer: later copies of it are refused. */
export function acquire(state: DbState, op: OpOf<'acquire'>, changes: Changes): Outcome<LsResults['acquire']> {
  const found = find(state, op);
  if (!found.ok) return found;
  const outcome = tryLock(state, op, found, changes);
  if (op.final === true && op.attempt !== undefined) found.handle.decidedAttempt = Math.max(found.handle.decidedAttempt, op.attempt);
  return outcome;
}

function tryLock(state: DbState, op: OpOf<'acquire'>, { session, handle, node }: Extract<Found, { ok: true }>, changes: Changes): Outcome<LsResults['acquire']> {
  const denied = denial(state, session.principal, node, 'write');
  if (denied) return failure('PERMISSION_DENIED', `acquiring a lock needs write permission: ${denied}`);
  const granted = op.attempt === undefined ? undefined : grantedBefore(handle, node, op.attempt);
  if (granted) return granted;
  if (handle.lock !== null) return failure('ALREADY_HELD', `handle ${handle.id} already holds the lock on ${node.path} (${handle.lock})`);
  if (op.attempt !== undefined && op.attempt <= handle.decidedAttempt) {
    return failure('ATTEMPT_DECIDED', `attempt ${op.attempt} of handle ${handle.id} was already decided by a final try: this is a late copy of it`);
  }
  const held = lockModeOf(state, node);
  if (held === 'exclusive' || (held === 'shared' && op.mode === 'exclusive')) {
    for (const id of node.holders) {
      const holder = state.handles.get(id)!;
      if (holder.events.includes('conflictingLock')) changes.events.push({ session: holder.session, handle: id, kind: 'conflictingLock', path: node.path });
    }
    return failure('LOCK_HELD', `the lock on ${node.path} is held ${held}, which conflicts with ${op.mode}`);
  }
  if (state.now < node.lockFreeAt) {
    return lockDelay(`the lock on ${node.path} is in lock-delay for ${node.lockFreeAt - state.now} ms more: a holder's session expired`, node.lockFreeAt, state.now);
  }
  if (node.holders.size === 0) node.lockGeneration = state.counters.nextLockGeneration++;
  handle.lock = op.mode;
  handle.lockDelayMs = op.lockDelayMs ?? state.config.defaultLockDelayMs;
  if (op.attempt !== undefined) handle.lastGrant = { attempt: op.attempt, mode: op.mode, generation: node.lockGeneration };
  node.holders.add(handle.id);
  notify(state, node, 'lockAcquired', handle.id, changes);
  return ok({ sequencer: sequencerOf(node, op.mode) });
}

/**
 * A copy of the newest attempt granted through the handle (its client did not hear, or could not
 * trust, the first answer) gets that grant again, even once the handle has released the lock
 * since (another call of the client did): the caller learns what its call did. An older attempt
 * is never granted, so grants go in attempt order; whether a copy of one was granted before is
 * no longer known. Undefined for an attempt newer than every grant.
 */
function grantedBefore(handle: HandleRecord, node: LsNode, attempt: number): Outcome<LsResults['acquire']> | undefined {
  const last = handle.lastGrant;
  if (last === null || attempt > last.attempt) return undefined;
  if (attempt === last.attempt) return ok({ sequencer: { lock: node.path, mode: last.mode, generation: last.generation } });
  return failure('ATTEMPT_FORGOTTEN', `acquire attempt ${attempt} of handle ${handle.id} is older than its newest granted one (${last.attempt}): whether it was granted is no longer known; not granted now`);
}

/** A normal release frees the lock at once; a holder's expiry starts its lock-delay. */
export function releaseLock(state: DbState, node: LsNode, handle: HandleRecord, expired: boolean, changes: Changes): void {
  const { now } = state;
  node.holders.delete(handle.id);
  if (expired) node.lockFreeAt = Math.max(node.lockFreeAt, now + handle.lockDelayMs);
  handle.lock = null;
  handle.lockDelayMs = 0;
  if (node.holders.size === 0) changes.freed.push({ path: node.path, availableAt: Math.max(now, node.lockFreeAt) });
}

export function checkSequencer(state: DbState, sequencer: Sequencer): Outcome<LsQueryResults['checkSequencer']> {
  const node = state.nodes.get(sequencer.lock);
  const stale = (why: string) => failure('STALE_SEQUENCER', `sequencer (${sequencer.lock}, ${sequencer.mode}, generation ${sequencer.generation}) is stale: ${why}`);
  if (!node) return stale(`${sequencer.lock} no longer exists`);
  if (node.lockGeneration !== sequencer.generation) return stale(`the lock is at generation ${node.lockGeneration}`);
  const mode = lockModeOf(state, node);
  if (mode === null) return stale('the lock is no longer held');
  if (mode !== sequencer.mode) return stale(`the lock is held ${mode}`);
  return ok({ valid: true });
}

/** One node's lock, or every held lock (a walk over all nodes: an operator's query, not a client's). */
export function heldLocks(state: DbState, path: string | undefined): LsQueryResults['heldLocks'] {
  const candidates = path === undefined ? state.nodes.values() : [state.nodes.get(path)];
  const nodes = [...candidates].filter((n): n is LsNode => n !== undefined && n.holders.size > 0).sort((a, b) => (a.path < b.path ? -1 : 1));
  const locks = nodes.slice(0, MAX_HELD_LOCKS_LISTED).map((node): HeldLock => {
    const handles = [...node.holders].map((h) => state.handles.get(h)!);
    const holders = handles.map((h) => ({ session: h.session, principal: state.sessions.get(h.session)?.principal ?? '' }));
    return { path: node.path, mode: handles[0]!.lock!, generation: node.lockGeneration, holders };
  });
  return { locks, more: nodes.length > locks.length };
}
