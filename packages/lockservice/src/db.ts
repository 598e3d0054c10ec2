/**
 * The lock service's database: a pure, deterministic state machine. Every replica applies the
 * same ops in the same order and reaches the same state; time comes only from `meta.time` (the
 * leader's timestamp), never from a clock. A failed op changes nothing.
 */
import { crc32 } from 'node:zlib';
import { ballotString, compareBallots } from '@actorfs/paxos';
import { denial } from './acl.ts';
import type { ApplyMeta, ApplyOutcome, StateMachine } from './contract.ts';
import type { LsConfig } from './config.ts';
import { failure, lockDelay, type LsError, type Outcome } from './errors.ts';
import { nameOf, parentOf } from './paths.ts';
import { MAX_HELD_LOCKS_LISTED, NO_TERM } from './protocol.ts';
import type {
  DbEvent,
  EventKind,
  FreedLock,
  HandleId,
  HeldLock,
  LockMode,
  LsOp,
  LsOpType,
  LsQuery,
  LsQueryResult,
  LsQueryResults,
  LsResult,
  LsResults,
  MasterTerm,
  Sequencer,
  SessionId,
  Stat,
} from './protocol.ts';
import { restoreState, snapshotPieces } from './snapshot.ts';
import { emptyState, indexNode, type DbState, type HandleRecord, type LsNode, type LsSession } from './state.ts';
import { validators } from './validate.ts';
import { unreachable } from './unreachable.ts';

type OpOf<T extends LsOp['type']> = Extract<LsOp, { type: T }>;
type QueryOf<T extends LsQuery['type']> = Extract<LsQuery, { type: T }>;
type Found = { ok: true; session: LsSession; handle: HandleRecord; node: LsNode } | { ok: false; error: LsError };

const ok = <R>(result: R): { ok: true; result: R } => ({ ok: true, result });

/** What one apply produced besides its result: events for subscribers and locks that became free. */
interface Changes {
  events: DbEvent[];
  freed: FreedLock[];
}

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
        return this.getContentsAndStat(q);
      case 'stat': {
        const found = this.find(q);
        return found.ok ? ok({ stat: statOf(found.node) }) : found;
      }
      case 'readdir':
        return this.readdir(q);
      case 'getSequencer': {
        const found = this.find(q);
        if (!found.ok) return found;
        const { handle, node } = found;
        if (handle.lock === null) return failure('NOT_HELD', `handle ${handle.id} does not hold the lock on ${node.path}`);
        return ok({ sequencer: sequencerOf(node, handle.lock) });
      }
      case 'checkSequencer':
        return this.checkSequencer(q.sequencer);
      case 'sessions': {
        const { sessions } = this.state;
        if (q.session === undefined) return ok({ sessions: [...sessions.keys()], secrets: [...sessions.values()].map((s) => s.secret) });
        const one = sessions.get(q.session);
        return ok(one ? { sessions: [one.id], secrets: [one.secret] } : { sessions: [], secrets: [] });
      }
      case 'sessionCount':
        return ok({ count: this.state.sessions.size });
      case 'ephemerals': {
        const session = this.sessionOf(q.session);
        return session.ok ? ok({ paths: [...session.result.ephemerals] }) : session;
      }
      case 'heldLocks':
        return ok(this.heldLocks(q.path));
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
        return this.openSession(op, changes);
      case 'closeSession':
      case 'expireSession': {
        const session = this.sessionOf(op.session);
        if (!session.ok) return session;
        this.endSession(session.result, op.type === 'expireSession', changes);
        return ok({ freed: changes.freed });
      }
      case 'open':
        return this.open(op, changes);
      case 'close': {
        const found = this.find(op);
        if (!found.ok) return found;
        this.dropHandle(found.handle, false, changes);
        return ok({ freed: changes.freed });
      }
      case 'setContents':
        return this.setContents(op, changes);
      case 'delete':
        return this.delete(op, changes);
      case 'setAcl':
        return this.setAcl(op, changes);
      case 'acquire':
        return this.acquire(op, changes);
      case 'release': {
        const found = this.find(op);
        if (!found.ok) return found;
        const { handle, node } = found;
        if (handle.lock === null) return failure('NOT_HELD', `handle ${handle.id} does not hold the lock on ${node.path}`);
        this.releaseLock(node, handle, false, changes);
        return ok({ freed: changes.freed });
      }
      default:
        return unreachable(op, 'lock service database');
    }
  }

  // --- sessions ---------------------------------------------------------------------------

  private openSession(op: OpOf<'openSession'>, changes: Changes): Outcome<LsResults['openSession']> {
    const { sessions, counters, config } = this.state;
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
  private endSession(session: LsSession, expired: boolean, changes: Changes): void {
    for (const id of [...session.handles]) this.dropHandle(this.state.handles.get(id)!, expired, changes);
    // Deepest first: an ephemeral directory holds only ephemerals of its own session.
    for (const path of [...session.ephemerals].sort((a, b) => b.length - a.length)) this.removeNode(this.state.nodes.get(path)!, null, changes);
    this.state.sessions.delete(session.id);
  }

  // --- handles and nodes ------------------------------------------------------------------

  private sessionOf(id: SessionId): Outcome<LsSession> {
    const session = this.state.sessions.get(id);
    return session ? ok(session) : failure('SESSION_UNKNOWN', `session ${id} is not open (closed, expired or never opened)`);
  }

  /** The session, handle and node an op names, or why not. */
  /** One node's lock, or every held lock (a walk over all nodes: an operator's query, not a client's). */
  private heldLocks(path: string | undefined): LsQueryResults['heldLocks'] {
    const candidates = path === undefined ? this.state.nodes.values() : [this.state.nodes.get(path)];
    const nodes = [...candidates].filter((n): n is LsNode => n !== undefined && n.holders.size > 0).sort((a, b) => (a.path < b.path ? -1 : 1));
    const locks = nodes.slice(0, MAX_HELD_LOCKS_LISTED).map((node): HeldLock => {
      const handles = [...node.holders].map((h) => this.state.handles.get(h)!);
      const holders = handles.map((h) => ({ session: h.session, principal: this.state.sessions.get(h.session)?.principal ?? '' }));
      return { path: node.path, mode: handles[0]!.lock!, generation: node.lockGeneration, holders };
    });
    return { locks, more: nodes.length > locks.length };
  }

  private find(op: { session: SessionId; handle: HandleId }): Found {
    const found = this.sessionOf(op.session);
    if (!found.ok) return found;
    const session = found.result;
    const handle = this.state.handles.get(op.handle);
    if (!handle || handle.session !== session.id) {
      return failure('HANDLE_UNKNOWN', `handle ${op.handle} is not open in session ${op.session} (closed, never opened, or its node was deleted)`);
    }
    return { ok: true, session, handle, node: this.state.nodes.get(handle.path)! };
  }

  private open(op: OpOf<'open'>, changes: Changes): Outcome<LsResults['open']> {
    const { state } = this;
    const found = this.sessionOf(op.session);
    if (!found.ok) return found;
    const session = found.result;
    if (session.handles.size >= state.config.limits.maxHandlesPerSession) {
      return failure('LIMIT_REACHED', `session ${session.id} has ${session.handles.size} handles open, its limit (maxHandlesPerSession)`);
    }
    if (state.handles.size >= state.config.limits.maxHandles) return failure('LIMIT_REACHED', `the cell has ${state.handles.size} handles open, its limit (maxHandles)`);
    let node = state.nodes.get(op.path);
    const created = node === undefined;
    if (node) {
      if (op.create === 'exclusive') return failure('EXISTS', `${op.path} exists`);
      if (op.kind !== undefined && op.kind !== node.kind) {
        return failure(node.kind === 'dir' ? 'IS_A_DIRECTORY' : 'NOT_A_DIRECTORY', `${op.path} exists as a ${node.kind === 'dir' ? 'directory' : 'file'}, not the ${op.kind} asked for`);
      }
      const denied = denial(state, session.principal, node, 'read');
      if (denied) return failure('PERMISSION_DENIED', denied);
    } else {
      if (op.create === 'never') return failure('NOT_FOUND', `${op.path} does not exist`);
      const made = this.createNode(session, op, changes);
      if (!made.ok) return made;
      node = made.result;
    }
    const id = state.counters.nextHandle++;
    state.handles.set(id, { id, session: session.id, path: node.path, instance: node.instance, events: [...(op.events ?? [])], lock: null, lockDelayMs: 0, lockAttempt: 0, decidedAttempt: 0, writeAttempt: 0, writeGeneration: 0 });
    session.handles.add(id);
    node.handles.add(id);
    return ok({ handle: id, created, stat: statOf(node) });
  }

  private createNode(session: LsSession, op: OpOf<'open'>, changes: Changes): Outcome<LsNode> {
    const { state } = this;
    const { limits } = state.config;
    const parentPath = parentOf(op.path);
    const parent = state.nodes.get(parentPath);
    if (!parent) return failure('NOT_FOUND', `cannot create ${op.path}: its directory ${parentPath} does not exist`);
    if (parent.kind !== 'dir') return failure('NOT_A_DIRECTORY', `cannot create ${op.path}: ${parentPath} is a file`);
    const denied = denial(state, session.principal, parent, 'write');
    if (denied) return failure('PERMISSION_DENIED', `cannot create ${op.path}: ${denied}`);
    const ephemeral = op.ephemeral ?? false;
    if (parent.ephemeralOwner !== null && (!ephemeral || parent.ephemeralOwner !== session.id)) {
      return failure('EPHEMERAL_PARENT', `cannot create ${op.path}: ${parentPath} is an ephemeral directory, which holds only ephemeral nodes of its own session`);
    }
    if (state.nodes.size >= limits.maxNodes) return failure('LIMIT_REACHED', `the cell holds ${state.nodes.size} nodes, its limit (maxNodes)`);
    const contents = op.contents ? op.contents.slice() : new Uint8Array(0);
    if (state.totalContentsBytes + contents.byteLength > limits.maxTotalContentsBytes) {
      return failure('LIMIT_REACHED', `the cell's files hold ${state.totalContentsBytes} bytes; ${contents.byteLength} more would pass maxTotalContentsBytes`);
    }
    const node = indexNode({
      path: op.path,
      kind: op.kind ?? 'file',
      ephemeralOwner: ephemeral ? session.id : null,
      instance: state.counters.nextInstance++,
      contentGeneration: 0,
      lockGeneration: 0,
      aclGeneration: 0,
      contents,
      checksum: crc32(contents),
      acl: { ...parent.acl },
      lockFreeAt: 0,
    });
    state.nodes.set(node.path, node);
    state.totalContentsBytes += contents.byteLength;
    parent.children.add(nameOf(node.path));
    if (ephemeral) session.ephemerals.add(node.path);
    this.notify(parent, 'childAdded', null, changes, nameOf(node.path));
    return ok(node);
  }

  private setContents(op: OpOf<'setContents'>, changes: Changes): Outcome<LsResults['setContents']> {
    const found = this.find(op);
    if (!found.ok) return found;
    const { session, handle, node } = found;
    const { state } = this;
    // Asked again after its answer was lost: answered as that write was, not applied twice (nor
    // refused by its own generation check).
    if (op.attempt !== undefined && op.attempt === handle.writeAttempt) {
      return ok({ stat: { ...statOf(node), contentGeneration: handle.writeGeneration, length: op.contents.byteLength, checksum: crc32(op.contents) }, repeated: true });
    }
    if (node.kind === 'dir') return failure('IS_A_DIRECTORY', `${node.path} is a directory: it has no contents`);
    const denied = denial(state, session.principal, node, 'write');
    if (denied) return failure('PERMISSION_DENIED', denied);
    if (op.ifGeneration !== undefined && op.ifGeneration !== node.contentGeneration) {
      return failure('GENERATION_MISMATCH', `${node.path} is at content generation ${node.contentGeneration}, not ${op.ifGeneration}`);
    }
    const total = state.totalContentsBytes - node.contents.byteLength + op.contents.byteLength;
    if (total > state.config.limits.maxTotalContentsBytes) {
      return failure('LIMIT_REACHED', `writing ${op.contents.byteLength} bytes to ${node.path} would bring the cell's files to ${total} bytes, over maxTotalContentsBytes`);
    }
    node.contents = op.contents.slice();
    node.checksum = crc32(node.contents);
    node.contentGeneration++;
    state.totalContentsBytes = total;
    if (op.attempt !== undefined) [handle.writeAttempt, handle.writeGeneration] = [op.attempt, node.contentGeneration];
    this.notify(node, 'contentsModified', handle.id, changes);
    this.notifyParent(node, 'childModified', changes);
    return ok({ stat: statOf(node) });
  }

  private delete(op: OpOf<'delete'>, changes: Changes): Outcome<LsResults['delete']> {
    const found = this.find(op);
    if (!found.ok) return found;
    const { session, handle, node } = found;
    if (node.path === this.state.root) return failure('BAD_REQUEST', `the cell's root ${node.path} cannot be deleted`);
    if (node.children.size > 0) return failure('NOT_EMPTY', `${node.path} is a directory with ${node.children.size} entries; only an empty one can be deleted`);
    const denied = denial(this.state, session.principal, node, 'write');
    if (denied) return failure('PERMISSION_DENIED', denied);
    // Deleting and re-creating the file would otherwise hand out a lock still in lock-delay.
    if (this.state.now < node.lockFreeAt) {
      return lockDelay(`${node.path} cannot be deleted while its lock is in lock-delay (${node.lockFreeAt - this.state.now} ms more)`, node.lockFreeAt, this.state.now);
    }
    this.removeNode(node, handle.id, changes);
    return ok({ freed: changes.freed });
  }

  /** Deletes a node: every handle on it closes (the others' holders hear handleInvalid), its lock goes with it. */
  private removeNode(node: LsNode, deleter: HandleId | null, changes: Changes): void {
    const { state } = this;
    for (const id of [...node.handles]) {
      const handle = state.handles.get(id)!;
      if (id !== deleter && handle.events.includes('handleInvalid')) {
        changes.events.push({ session: handle.session, handle: id, kind: 'handleInvalid', path: node.path });
      }
      this.dropHandle(handle, false, changes);
    }
    state.nodes.delete(node.path);
    state.totalContentsBytes -= node.contents.byteLength;
    state.nodes.get(parentOf(node.path))!.children.delete(nameOf(node.path));
    if (node.ephemeralOwner !== null) state.sessions.get(node.ephemeralOwner)?.ephemerals.delete(node.path);
    this.notifyParent(node, 'childRemoved', changes);
  }

  private dropHandle(handle: HandleRecord, expired: boolean, changes: Changes): void {
    const node = this.state.nodes.get(handle.path)!;
    if (handle.lock !== null) this.releaseLock(node, handle, expired, changes);
    node.handles.delete(handle.id);
    this.state.sessions.get(handle.session)!.handles.delete(handle.id);
    this.state.handles.delete(handle.id);
  }

  private setAcl(op: OpOf<'setAcl'>, changes: Changes): Outcome<LsResults['setAcl']> {
    const found = this.find(op);
    if (!found.ok) return found;
    const { session, node } = found;
    const denied = denial(this.state, session.principal, node, 'changeAcl');
    if (denied) return failure('PERMISSION_DENIED', denied);
    for (const permission of ['read', 'write', 'changeAcl'] as const) {
      const name = op.acl[permission];
      if (name !== undefined) node.acl[permission] = name;
    }
    node.aclGeneration++;
    this.notifyParent(node, 'childModified', changes);
    return ok({ stat: statOf(node) });
  }

  // --- locks ------------------------------------------------------------------------------

  /** An acquire; a `final` one decides its attempt, whatever the answer: later copies of it are refused. */
  private acquire(op: OpOf<'acquire'>, changes: Changes): Outcome<LsResults['acquire']> {
    const found = this.find(op);
    if (!found.ok) return found;
    const outcome = this.tryLock(op, found, changes);
    if (op.final === true && op.attempt !== undefined) found.handle.decidedAttempt = Math.max(found.handle.decidedAttempt, op.attempt);
    return outcome;
  }

  private tryLock(op: OpOf<'acquire'>, { session, handle, node }: Extract<Found, { ok: true }>, changes: Changes): Outcome<LsResults['acquire']> {
    const { state } = this;
    const denied = denial(state, session.principal, node, 'write');
    if (denied) return failure('PERMISSION_DENIED', `acquiring a lock needs write permission: ${denied}`);
    if (handle.lock !== null) {
      // The same call asked again (its client did not hear, or could not trust, the first answer).
      if (handle.lockAttempt !== 0 && op.attempt === handle.lockAttempt) return ok({ sequencer: sequencerOf(node, handle.lock) });
      return failure('ALREADY_HELD', `handle ${handle.id} already holds the lock on ${node.path} (${handle.lock})`);
    }
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
    handle.lockAttempt = op.attempt ?? 0;
    node.holders.add(handle.id);
    this.notify(node, 'lockAcquired', handle.id, changes);
    return ok({ sequencer: sequencerOf(node, op.mode) });
  }

  /** A normal release frees the lock at once; a holder's expiry starts its lock-delay. */
  private releaseLock(node: LsNode, handle: HandleRecord, expired: boolean, changes: Changes): void {
    const { now } = this.state;
    node.holders.delete(handle.id);
    if (expired) node.lockFreeAt = Math.max(node.lockFreeAt, now + handle.lockDelayMs);
    handle.lock = null;
    handle.lockDelayMs = 0;
    handle.lockAttempt = 0;
    if (node.holders.size === 0) changes.freed.push({ path: node.path, availableAt: Math.max(now, node.lockFreeAt) });
  }

  private checkSequencer(sequencer: Sequencer): Outcome<LsQueryResults['checkSequencer']> {
    const node = this.state.nodes.get(sequencer.lock);
    const stale = (why: string) => failure('STALE_SEQUENCER', `sequencer (${sequencer.lock}, ${sequencer.mode}, generation ${sequencer.generation}) is stale: ${why}`);
    if (!node) return stale(`${sequencer.lock} no longer exists`);
    if (node.lockGeneration !== sequencer.generation) return stale(`the lock is at generation ${node.lockGeneration}`);
    const mode = lockModeOf(this.state, node);
    if (mode === null) return stale('the lock is no longer held');
    if (mode !== sequencer.mode) return stale(`the lock is held ${mode}`);
    return ok({ valid: true });
  }

  // --- reads ------------------------------------------------------------------------------

  private getContentsAndStat(q: QueryOf<'getContentsAndStat'>): Outcome<LsQueryResults['getContentsAndStat']> {
    const found = this.find(q);
    if (!found.ok) return found;
    const { session, node } = found;
    if (node.kind === 'dir') return failure('IS_A_DIRECTORY', `${node.path} is a directory: it has no contents (readdir lists it)`);
    const denied = denial(this.state, session.principal, node, 'read');
    if (denied) return failure('PERMISSION_DENIED', denied);
    return ok({ contents: node.contents.slice(), stat: statOf(node) });
  }

  private readdir(q: QueryOf<'readdir'>): Outcome<LsQueryResults['readdir']> {
    const found = this.find(q);
    if (!found.ok) return found;
    const { session, node } = found;
    if (node.kind !== 'dir') return failure('NOT_A_DIRECTORY', `${node.path} is a file`);
    const denied = denial(this.state, session.principal, node, 'read');
    if (denied) return failure('PERMISSION_DENIED', denied);
    return ok({ names: [...node.children].sort() });
  }

  // --- events -----------------------------------------------------------------------------

  /** An event for every handle on `node` subscribed to `kind`, except the one whose op caused it. */
  private notify(node: LsNode, kind: EventKind, except: HandleId | null, changes: Changes, child?: string): void {
    for (const id of node.handles) {
      const handle = this.state.handles.get(id)!;
      if (id === except || !handle.events.includes(kind)) continue;
      changes.events.push(child === undefined ? { session: handle.session, handle: id, kind, path: node.path } : { session: handle.session, handle: id, kind, path: node.path, child });
    }
  }

  private notifyParent(node: LsNode, kind: 'childRemoved' | 'childModified', changes: Changes): void {
    const parent = this.state.nodes.get(parentOf(node.path));
    if (parent) this.notify(parent, kind, null, changes, nameOf(node.path));
  }
}

/** The mode the lock on `node` is held in, or null if free. */
function lockModeOf(state: DbState, node: LsNode): LockMode | null {
  for (const id of node.holders) return state.handles.get(id)!.lock;
  return null;
}

const sequencerOf = (node: LsNode, mode: LockMode): Sequencer => ({ lock: node.path, mode, generation: node.lockGeneration });

function statOf(node: LsNode): Stat {
  return {
    path: node.path,
    kind: node.kind,
    ephemeral: node.ephemeralOwner !== null,
    instance: node.instance,
    contentGeneration: node.contentGeneration,
    lockGeneration: node.lockGeneration,
    aclGeneration: node.aclGeneration,
    checksum: node.checksum,
    length: node.contents.byteLength,
    acl: { ...node.acl },
  };
}
