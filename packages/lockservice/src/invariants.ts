/**
 * Invariants of a lock-service database, checked from the outside: by tests after every op, by
 * restore before it accepts a snapshot, and later by the simulator on every replica. Each
 * function returns the violations it finds, as sentences; none means the state is sound.
 */
import { crc32 } from 'node:zlib';
import { compareBallots } from '@actorfs/paxos';
import { nameOf, parentOf, pathProblem } from './paths.ts';
import { WRITES_KEPT, type DbState, type LsNode } from './state.ts';

export function checkInvariants(state: Readonly<DbState>): string[] {
  const problems: string[] = [];
  const bad = (what: string) => problems.push(what);
  const { nodes, sessions, handles, config } = state;
  const { limits } = config;

  const root = nodes.get(state.root);
  if (!root || root.kind !== 'dir' || root.ephemeralOwner !== null) bad(`the root ${state.root} is missing or not a permanent directory`);
  if (nodes.size > limits.maxNodes) bad(`${nodes.size} nodes, over maxNodes ${limits.maxNodes}`);
  if (sessions.size > limits.maxSessions) bad(`${sessions.size} sessions, over maxSessions ${limits.maxSessions}`);
  if (handles.size > limits.maxHandles) bad(`${handles.size} handles, over maxHandles ${limits.maxHandles}`);

  let totalBytes = 0;
  for (const [path, node] of nodes) {
    checkNode(state, path, node, bad);
    totalBytes += node.contents.byteLength;
  }
  if (totalBytes !== state.totalContentsBytes) bad(`contents total ${totalBytes} bytes, but the database counts ${state.totalContentsBytes}`);
  if (totalBytes > limits.maxTotalContentsBytes) bad(`contents total ${totalBytes} bytes, over maxTotalContentsBytes`);
  checkHandles(state, bad);
  checkSessions(state, bad);
  return problems;
}

/** One node's own fields, its place in the tree, its ephemeral owner and its lock holders. */
function checkNode(state: Readonly<DbState>, path: string, node: LsNode, bad: (what: string) => void): void {
  const { nodes, sessions, handles, counters, config } = state;
  const { limits } = config;
  const at = `node ${path}`;
  if (node.path !== path) bad(`${at} is stored under another path (${node.path})`);
  const problem = pathProblem(path, config.cell, limits);
  if (problem) bad(`${at}: ${problem}`);
  if (!(node.instance >= 1 && node.instance < counters.nextInstance)) bad(`${at} has instance ${node.instance}, outside [1, ${counters.nextInstance})`);
  for (const g of ['contentGeneration', 'aclGeneration', 'lockGeneration'] as const) {
    if (!Number.isSafeInteger(node[g]) || node[g] < 0) bad(`${at} has ${g} ${node[g]}`);
  }
  if (node.lockGeneration >= counters.nextLockGeneration) bad(`${at} has lock generation ${node.lockGeneration}, not below the counter ${counters.nextLockGeneration}`);
  if (node.contents.byteLength > limits.maxContentsBytes) bad(`${at} holds ${node.contents.byteLength} bytes, over maxContentsBytes`);
  if (node.kind === 'dir' && node.contents.byteLength > 0) bad(`${at} is a directory with contents`);
  if (crc32(node.contents) !== node.checksum) bad(`${at} has checksum ${node.checksum}, but its contents sum to ${crc32(node.contents)}`);

  if (path !== state.root) {
    const parent = nodes.get(parentOf(path));
    if (!parent || parent.kind !== 'dir') bad(`${at} has no parent directory`);
    else {
      if (!parent.children.has(nameOf(path))) bad(`${at} is missing from its parent's children`);
      if (parent.ephemeralOwner !== null && parent.ephemeralOwner !== node.ephemeralOwner) {
        bad(`${at} lies in the ephemeral directory of session ${parent.ephemeralOwner} but is not one of its ephemerals`);
      }
    }
  }
  if (node.kind === 'file' && node.children.size > 0) bad(`${at} is a file with children`);
  for (const child of node.children) if (!nodes.has(`${path}/${child}`)) bad(`${at} lists child ${child}, which does not exist`);

  if (node.ephemeralOwner !== null) {
    const owner = sessions.get(node.ephemeralOwner);
    if (!owner) bad(`${at} is an ephemeral of session ${node.ephemeralOwner}, which is not live`);
    else if (!owner.ephemerals.has(path)) bad(`${at} is missing from its session's ephemerals`);
  }

  const modes = new Set<string | null>();
  for (const id of node.holders) {
    const holder = handles.get(id);
    if (!holder || holder.path !== path || holder.lock === null) bad(`${at} lists holder ${id}, which is not a handle holding it`);
    else modes.add(holder.lock);
  }
  if (modes.size > 1) bad(`${at}'s lock is held exclusive and shared at once`);
  if (modes.has('exclusive') && node.holders.size > 1) bad(`${at}'s lock has ${node.holders.size} exclusive holders`);
  if (node.holders.size > 0 && node.lockGeneration === 0) bad(`${at}'s lock is held at generation 0`);
  for (const id of node.handles) if (handles.get(id)?.path !== path) bad(`${at} lists handle ${id}, which is not open on it`);
}

function checkHandles(state: Readonly<DbState>, bad: (what: string) => void): void {
  const { nodes, sessions, handles, counters } = state;
  for (const [id, handle] of handles) {
    const at = `handle ${id}`;
    if (handle.id !== id || id >= counters.nextHandle) bad(`${at} has a bad id`);
    const session = sessions.get(handle.session);
    if (!session || !session.handles.has(id)) bad(`${at} belongs to session ${handle.session}, which is not live or does not list it`);
    const node = nodes.get(handle.path);
    if (!node || node.instance !== handle.instance) bad(`${at} is open on ${handle.path} instance ${handle.instance}, which does not exist`);
    else {
      if (!node.handles.has(id)) bad(`${at} is missing from its node's handles`);
      if ((handle.lock !== null) !== node.holders.has(id)) bad(`${at} says lock ${handle.lock}, its node's holders disagree`);
      const grant = handle.lastGrant;
      if (grant !== null && !(Number.isSafeInteger(grant.attempt) && grant.attempt > 0 && grant.generation > 0 && grant.generation <= node.lockGeneration)) {
        bad(`${at}'s last grant (attempt ${grant.attempt}, generation ${grant.generation}) is not a positive attempt at a generation its node's lock reached (${node.lockGeneration})`);
      }
    }
    const writes = handle.writes.map((w) => w.attempt);
    if (writes.length > WRITES_KEPT || writes.some((a, i) => !Number.isSafeInteger(a) || a <= (i === 0 ? handle.writesForgotten : writes[i - 1]!))) {
      bad(`${at} keeps write attempts ${writes.join(', ')} (forgotten up to ${handle.writesForgotten}): not rising above the forgotten, or over ${WRITES_KEPT}`);
    }
  }
}

function checkSessions(state: Readonly<DbState>, bad: (what: string) => void): void {
  const { nodes, sessions, handles, counters, config } = state;
  for (const [id, session] of sessions) {
    const at = `session ${id}`;
    if (session.id !== id || id >= counters.nextSession) bad(`${at} has a bad id`);
    if (session.handles.size > config.limits.maxHandlesPerSession) bad(`${at} has ${session.handles.size} handles, over maxHandlesPerSession`);
    for (const h of session.handles) if (handles.get(h)?.session !== id) bad(`${at} lists handle ${h}, which is not its own`);
    for (const path of session.ephemerals) if (nodes.get(path)?.ephemeralOwner !== id) bad(`${at} lists ephemeral ${path}, which is not its own`);
  }
}

/** What must only grow, recorded from one state to compare with a later one. */
export interface Progress {
  now: number;
  masterTerm: DbState['masterTerm'];
  counters: DbState['counters'];
  nodes: Map<string, { instance: number; contentGeneration: number; lockGeneration: number; aclGeneration: number }>;
}

export function progressOf(state: Readonly<DbState>): Progress {
  const nodes: Progress['nodes'] = new Map();
  for (const [path, n] of state.nodes) nodes.set(path, { instance: n.instance, contentGeneration: n.contentGeneration, lockGeneration: n.lockGeneration, aclGeneration: n.aclGeneration });
  return { now: state.now, masterTerm: { ...state.masterTerm }, counters: { ...state.counters }, nodes };
}

/**
 * Violations of monotonicity between an earlier and a later state: time, counters, and each
 * node's generations (a node re-created under the same name has a greater instance, and a
 * lock generation that is still 0 or greater than the old one's).
 */
export function checkProgress(before: Progress, state: Readonly<DbState>): string[] {
  const problems: string[] = [];
  if (state.now < before.now) problems.push(`time went back from ${before.now} to ${state.now}`);
  if (compareBallots(state.masterTerm, before.masterTerm) < 0) problems.push(`the master term went back from ${JSON.stringify(before.masterTerm)} to ${JSON.stringify(state.masterTerm)}`);
  for (const [name, value] of Object.entries(before.counters)) {
    const after = state.counters[name as keyof Progress['counters']];
    if (after < value) problems.push(`counter ${name} went back from ${value} to ${after}`);
  }
  for (const [path, node] of state.nodes) {
    const old = before.nodes.get(path);
    if (!old) {
      if (node.instance < before.counters.nextInstance) problems.push(`new node ${path} has instance ${node.instance}, an old number`);
      continue;
    }
    if (node.instance !== old.instance) {
      if (node.instance < old.instance) problems.push(`node ${path} was re-created with a smaller instance ${node.instance} < ${old.instance}`);
      if (node.lockGeneration !== 0 && node.lockGeneration <= old.lockGeneration) problems.push(`node ${path} was re-created with an old lock generation`);
      continue;
    }
    for (const g of ['contentGeneration', 'lockGeneration', 'aclGeneration'] as const) {
      if (node[g] < old[g]) problems.push(`node ${path}'s ${g} went back from ${old[g]} to ${node[g]}`);
    }
  }
  return problems;
}
