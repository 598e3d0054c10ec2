/**
 * What every rule of the lock database shares: the records an op names (its session, handle and
 * node, or why not), the stat and sequencer a node shows, and the events a change sends to the
 * handles subscribed to it.
 */
import { failure, type LsError, type Outcome } from './errors.ts';
import { nameOf, parentOf } from './paths.ts';
import type { DbEvent, EventKind, FreedLock, HandleId, LockMode, LsOp, LsQuery, Sequencer, SessionId, Stat } from './protocol.ts';
import type { DbState, HandleRecord, LsNode, LsSession } from './state.ts';

export type OpOf<T extends LsOp['type']> = Extract<LsOp, { type: T }>;
export type QueryOf<T extends LsQuery['type']> = Extract<LsQuery, { type: T }>;
export type Found = { ok: true; session: LsSession; handle: HandleRecord; node: LsNode } | { ok: false; error: LsError };

export const ok = <R>(result: R): { ok: true; result: R } => ({ ok: true, result });

/** What one apply produced besides its result: events for subscribers and locks that became free. */
export interface Changes {
  events: DbEvent[];
  freed: FreedLock[];
}

export function sessionOf(state: DbState, id: SessionId): Outcome<LsSession> {
  const session = state.sessions.get(id);
  return session ? ok(session) : failure('SESSION_UNKNOWN', `session ${id} is not open (closed, expired or never opened)`);
}

/** The session, handle and node an op names, or why not. */
export function find(state: DbState, op: { session: SessionId; handle: HandleId }): Found {
  const found = sessionOf(state, op.session);
  if (!found.ok) return found;
  const session = found.result;
  const handle = state.handles.get(op.handle);
  if (!handle || handle.session !== session.id) {
    return failure('HANDLE_UNKNOWN', `handle ${op.handle} is not open in session ${op.session} (closed, never opened, or its node was deleted)`);
  }
  return { ok: true, session, handle, node: state.nodes.get(handle.path)! };
}

/** An event for every handle on `node` subscribed to `kind`, except the one whose op caused it. */
export function notify(state: DbState, node: LsNode, kind: EventKind, except: HandleId | null, changes: Changes, child?: string): void {
  for (const id of node.handles) {
    const handle = state.handles.get(id)!;
    if (id === except || !handle.events.includes(kind)) continue;
    changes.events.push(child === undefined ? { session: handle.session, handle: id, kind, path: node.path } : { session: handle.session, handle: id, kind, path: node.path, child });
  }
}

export function notifyParent(state: DbState, node: LsNode, kind: 'childRemoved' | 'childModified', changes: Changes): void {
  const parent = state.nodes.get(parentOf(node.path));
  if (parent) notify(state, parent, kind, null, changes, nameOf(node.path));
}

/** The mode the lock on `node` is held in, or null if free. */
export function lockModeOf(state: DbState, node: LsNode): LockMode | null {
  for (const id of node.holders) return state.handles.get(id)!.lock;
  return null;
}

export const sequencerOf = (node: LsNode, mode: LockMode): Sequencer => ({ lock: node.path, mode, generation: node.lockGeneration });

export function statOf(node: LsNode): Stat {
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
