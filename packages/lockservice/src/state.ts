/**
 * The database's state: records (what a snapshot holds) and the indexes rebuilt from them
 * (children, open handles and lock holders per node, handles and ephemerals per session).
 */
import type { LsConfig } from './config.ts';
import { aclDirectory, cellRoot } from './paths.ts';
import { NO_TERM, type AclNames, type EventKind, type HandleId, type LockMode, type MasterTerm, type NodeKind, type SessionId } from './protocol.ts';

export interface NodeRecord {
  path: string;
  kind: NodeKind;
  /** The session whose end deletes this node; null for a permanent node. */
  ephemeralOwner: SessionId | null;
  instance: number;
  contentGeneration: number;
  lockGeneration: number;
  aclGeneration: number;
  contents: Uint8Array;
  checksum: number;
  acl: AclNames;
  /** Lock-delay: the lock may not be taken before this time (leader ms). */
  lockFreeAt: number;
}

export interface SessionRecord {
  id: SessionId;
  principal: string;
  /** Shown by the session's client with each request; '' for a session opened without one. */
  secret: string;
}

export interface HandleRecord {
  id: HandleId;
  session: SessionId;
  path: string;
  /** The instance of the node it was opened on; the node's deletion closes the handle. */
  instance: number;
  events: EventKind[];
  lock: LockMode | null;
  /** The lock-delay this holder's expiry imposes (meaningful while `lock` is set). */
  lockDelayMs: number;
  /**
   * The newest attempt ever granted through this handle, and its grant, kept after a release: a
   * copy of it is answered with that grant, and an older attempt is never granted (whether a copy
   * of one was granted before is no longer known: ATTEMPT_FORGOTTEN).
   */
  lastGrant: LockGrant | null;
  /**
   * The client's attempts up to this one are decided: a final try answered them, so a late copy
   * of one (a deposed master's Paxos client still retrying) is refused, never granted.
   */
  decidedAttempt: number;
  /**
   * The client's last write attempts applied through this handle (oldest first, at most
   * WRITES_KEPT) and the content generation each made, so a copy of any of them is answered as it
   * was; every applied attempt above `writesForgotten` is here.
   */
  writes: WriteOutcome[];
  /** The newest attempt dropped from `writes` at the bound (0: none): whether one at or below it was applied is no longer known. */
  writesForgotten: number;
}

/** An attempt granted a lock, and the lock's mode and generation it got. */
export interface LockGrant {
  attempt: number;
  mode: LockMode;
  generation: number;
}

/** Applied write attempts a handle keeps the outcome of; a copy of an older one is refused (ATTEMPT_FORGOTTEN). */
export const WRITES_KEPT = 16;

export interface WriteOutcome {
  attempt: number;
  generation: number;
}

export interface LsNode extends NodeRecord {
  children: Set<string>;
  /** Handles open on this node. */
  handles: Set<HandleId>;
  /** Handles holding its lock; all in one mode. */
  holders: Set<HandleId>;
}

export interface LsSession extends SessionRecord {
  handles: Set<HandleId>;
  ephemerals: Set<string>;
}

export interface Counters {
  nextSession: SessionId;
  nextHandle: HandleId;
  nextInstance: number;
  /** Lock generations come from one cell-wide counter, so a name never reuses one, even after delete and create. */
  nextLockGeneration: number;
}

export interface DbState {
  readonly config: LsConfig;
  readonly root: string;
  readonly aclDir: string;
  nodes: Map<string, LsNode>;
  sessions: Map<SessionId, LsSession>;
  handles: Map<HandleId, HandleRecord>;
  counters: Counters;
  /** The newest leader time applied; time in the database never goes back. */
  now: number;
  totalContentsBytes: number;
  /** The newest master term begun (the failover record): ops of older terms are refused. */
  masterTerm: MasterTerm;
}

const OPEN_ACL: AclNames = { read: null, write: null, changeAcl: null };

export function emptyState(config: LsConfig): DbState {
  const state: DbState = {
    config,
    root: cellRoot(config.cell),
    aclDir: aclDirectory(config.cell),
    nodes: new Map(),
    sessions: new Map(),
    handles: new Map(),
    counters: { nextSession: 1, nextHandle: 1, nextInstance: 2, nextLockGeneration: 1 },
    now: 0,
    totalContentsBytes: 0,
    masterTerm: { ...NO_TERM },
  };
  state.nodes.set(state.root, indexNode(rootRecord(state.root)));
  return state;
}

export function rootRecord(root: string): NodeRecord {
  return {
    path: root,
    kind: 'dir',
    ephemeralOwner: null,
    instance: 1,
    contentGeneration: 0,
    lockGeneration: 0,
    aclGeneration: 0,
    contents: new Uint8Array(0),
    checksum: 0,
    acl: { ...OPEN_ACL },
    lockFreeAt: 0,
  };
}

export const indexNode = (record: NodeRecord): LsNode => ({ ...record, children: new Set(), handles: new Set(), holders: new Set() });
export const indexSession = (record: SessionRecord): LsSession => ({ ...record, handles: new Set(), ephemerals: new Set() });

export function nodeRecord(n: LsNode): NodeRecord {
  return {
    path: n.path,
    kind: n.kind,
    ephemeralOwner: n.ephemeralOwner,
    instance: n.instance,
    contentGeneration: n.contentGeneration,
    lockGeneration: n.lockGeneration,
    aclGeneration: n.aclGeneration,
    contents: n.contents,
    checksum: n.checksum,
    acl: { ...n.acl },
    lockFreeAt: n.lockFreeAt,
  };
}

export const sessionRecord = (s: LsSession): SessionRecord => ({ id: s.id, principal: s.principal, secret: s.secret });
