/** The lock database's rules for the namespace: handles opened and closed, nodes created, written, deleted, their ACLs, and reads. */
import { crc32 } from 'node:zlib';
import { denial } from './acl.ts';
import { failure, lockDelay, type Outcome } from './errors.ts';
import { nameOf, parentOf } from './paths.ts';
import type { HandleId, LsQueryResults, LsResults } from './protocol.ts';
import { indexNode, type DbState, type HandleRecord, type LsNode, type LsSession, type WriteOutcome, WRITES_KEPT } from './state.ts';
import { releaseLock } from './db-locks.ts';
import { find, notify, notifyParent, ok, sessionOf, statOf, type Changes, type OpOf, type QueryOf } from './db-records.ts';

export function openHandle(state: DbState, op: OpOf<'open'>, changes: Changes): Outcome<LsResults['open']> {
  const found = sessionOf(state, op.session);
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
    const made = createNode(state, session, op, changes);
    if (!made.ok) return made;
    node = made.result;
  }
  const id = state.counters.nextHandle++;
  state.handles.set(id, { id, session: session.id, path: node.path, instance: node.instance, events: [...(op.events ?? [])], lock: null, lockDelayMs: 0, lastGrant: null, decidedAttempt: 0, writes: [], writesForgotten: 0 });
  session.handles.add(id);
  node.handles.add(id);
  return ok({ handle: id, created, stat: statOf(node) });
}

function createNode(state: DbState, session: LsSession, op: OpOf<'open'>, changes: Changes): Outcome<LsNode> {
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
  notify(state, parent, 'childAdded', null, changes, nameOf(node.path));
  return ok(node);
}

export function setContents(state: DbState, op: OpOf<'setContents'>, changes: Changes): Outcome<LsResults['setContents']> {
  const found = find(state, op);
  if (!found.ok) return found;
  const { session, handle, node } = found;
  const known = op.attempt === undefined ? 'new' : writeAttemptOutcome(handle, op.attempt);
  if (known !== 'new') {
    if (!known.ok) return known;
    // Asked again after its answer was lost: answered as that write was, not applied twice (nor
    // refused by its own generation check).
    return ok({ stat: { ...statOf(node), contentGeneration: known.result, length: op.contents.byteLength, checksum: crc32(op.contents) }, repeated: true });
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
  if (op.attempt !== undefined) keepWriteOutcome(handle, { attempt: op.attempt, generation: node.contentGeneration });
  notify(state, node, 'contentsModified', handle.id, changes);
  notifyParent(state, node, 'childModified', changes);
  return ok({ stat: statOf(node) });
}

/**
 * What the handle knows of a write attempt: the generation it made if it was applied, `new` if it
 * is newer than every applied one, else why it is refused. Attempts only grow in a session, so an
 * older attempt not among the kept outcomes was never applied, and applying it now would undo a
 * later write.
 */
function writeAttemptOutcome(handle: HandleRecord, attempt: number): Outcome<number> | 'new' {
  const kept = handle.writes.find((w) => w.attempt === attempt);
  if (kept) return ok(kept.generation);
  const newest = handle.writes.at(-1);
  if (newest === undefined || attempt > newest.attempt) return 'new';
  if (attempt <= handle.writesForgotten) {
    return failure('ATTEMPT_FORGOTTEN', `write attempt ${attempt} of handle ${handle.id} is older than the last ${WRITES_KEPT} applied writes it keeps the outcome of (from attempt ${handle.writes[0]!.attempt}): whether it was applied is no longer known; not applied now`);
  }
  return failure('ATTEMPT_DECIDED', `write attempt ${attempt} of handle ${handle.id} was never applied, and a later write of the handle was (attempt ${newest.attempt}): a late copy, not applied`);
}

function keepWriteOutcome(handle: HandleRecord, outcome: WriteOutcome): void {
  handle.writes.push(outcome);
  if (handle.writes.length > WRITES_KEPT) handle.writesForgotten = handle.writes.shift()!.attempt;
}

export function deleteNode(state: DbState, op: OpOf<'delete'>, changes: Changes): Outcome<LsResults['delete']> {
  const found = find(state, op);
  if (!found.ok) return found;
  const { session, handle, node } = found;
  if (node.path === state.root) return failure('BAD_REQUEST', `the cell's root ${node.path} cannot be deleted`);
  if (node.children.size > 0) return failure('NOT_EMPTY', `${node.path} is a directory with ${node.children.size} entries; only an empty one can be deleted`);
  const denied = denial(state, session.principal, node, 'write');
  if (denied) return failure('PERMISSION_DENIED', denied);
  // Deleting and re-creating the file would otherwise hand out a lock still in lock-delay.
  if (state.now < node.lockFreeAt) {
    return lockDelay(`${node.path} cannot be deleted while its lock is in lock-delay (${node.lockFreeAt - state.now} ms more)`, node.lockFreeAt, state.now);
  }
  removeNode(state, node, handle.id, changes);
  return ok({ freed: changes.freed });
}

/** Deletes a node: every handle on it closes (the others' holders hear handleInvalid), its lock goes with it. */
export function removeNode(state: DbState, node: LsNode, deleter: HandleId | null, changes: Changes): void {
  for (const id of [...node.handles]) {
    const handle = state.handles.get(id)!;
    if (id !== deleter && handle.events.includes('handleInvalid')) {
      changes.events.push({ session: handle.session, handle: id, kind: 'handleInvalid', path: node.path });
    }
    dropHandle(state, handle, false, changes);
  }
  state.nodes.delete(node.path);
  state.totalContentsBytes -= node.contents.byteLength;
  state.nodes.get(parentOf(node.path))!.children.delete(nameOf(node.path));
  if (node.ephemeralOwner !== null) state.sessions.get(node.ephemeralOwner)?.ephemerals.delete(node.path);
  notifyParent(state, node, 'childRemoved', changes);
}

export function dropHandle(state: DbState, handle: HandleRecord, expired: boolean, changes: Changes): void {
  const node = state.nodes.get(handle.path)!;
  if (handle.lock !== null) releaseLock(state, node, handle, expired, changes);
  node.handles.delete(handle.id);
  state.sessions.get(handle.session)!.handles.delete(handle.id);
  state.handles.delete(handle.id);
}

export function setAcl(state: DbState, op: OpOf<'setAcl'>, changes: Changes): Outcome<LsResults['setAcl']> {
  const found = find(state, op);
  if (!found.ok) return found;
  const { session, node } = found;
  const denied = denial(state, session.principal, node, 'changeAcl');
  if (denied) return failure('PERMISSION_DENIED', denied);
  for (const permission of ['read', 'write', 'changeAcl'] as const) {
    const name = op.acl[permission];
    if (name !== undefined) node.acl[permission] = name;
  }
  node.aclGeneration++;
  notifyParent(state, node, 'childModified', changes);
  return ok({ stat: statOf(node) });
}

export function getContentsAndStat(state: DbState, q: QueryOf<'getContentsAndStat'>): Outcome<LsQueryResults['getContentsAndStat']> {
  const found = find(state, q);
  if (!found.ok) return found;
  const { session, node } = found;
  if (node.kind === 'dir') return failure('IS_A_DIRECTORY', `${node.path} is a directory: it has no contents (readdir lists it)`);
  const denied = denial(state, session.principal, node, 'read');
  if (denied) return failure('PERMISSION_DENIED', denied);
  return ok({ contents: node.contents.slice(), stat: statOf(node) });
}

export function readdir(state: DbState, q: QueryOf<'readdir'>): Outcome<LsQueryResults['readdir']> {
  const found = find(state, q);
  if (!found.ok) return found;
  const { session, node } = found;
  if (node.kind !== 'dir') return failure('NOT_A_DIRECTORY', `${node.path} is a file`);
  const denied = denial(state, session.principal, node, 'read');
  if (denied) return failure('PERMISSION_DENIED', denied);
  return ok({ names: [...node.children].sort() });
}
