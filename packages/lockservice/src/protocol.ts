/**
 * The database's protocol: the ops the master proposes (a closed union), the queries it answers
 * under its lease, their results, and the events apply emits.
 */
export type SessionId = number;
export type HandleId = number;
export type NodeKind = 'file' | 'dir';
export type LockMode = 'exclusive' | 'shared';
export type AclPermission = 'read' | 'write' | 'changeAcl';
/** Per permission, the name of an ACL file in the cell's ACL directory; null lets everyone. */
export type AclNames = Record<AclPermission, string | null>;
/** `never`: the node must exist; `ifAbsent`: create it if missing; `exclusive`: it must not exist yet. */
export type CreateMode = 'never' | 'ifAbsent' | 'exclusive';

export const EVENT_KINDS = [
  'contentsModified',
  'childAdded',
  'childRemoved',
  'childModified',
  'lockAcquired',
  'conflictingLock',
  'handleInvalid',
  /** Sent by a new master, never by the database; listed so handles can subscribe to it. */
  'masterFailover',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** (lock name, mode, lock generation): what a holder shows other servers. */
export interface Sequencer {
  lock: string;
  mode: LockMode;
  generation: number;
}

/**
 * A master's term: the ballot its node's proposer leads under. Terms order as ballots do; the
 * database records the newest one begun (`beginTerm`, the failover record).
 */
export interface MasterTerm {
  round: number;
  id: number;
}

/** The term of an op that names none: older than any master's. */
export const NO_TERM: MasterTerm = { round: 0, id: -1 };

/**
 * Every op a master proposes carries its term: once a newer master's `beginTerm` is applied, an
 * op of an older term (a deposed master's late copy, still retried by its Paxos client) is
 * refused (DEPOSED_MASTER), never applied behind the new master's cache invalidations.
 */
export type LsOp = LsOpBody & { term?: MasterTerm };

type LsOpBody =
  /**
   * A new master's first op, before it serves: from here on, ops of older terms are refused. An
   * older term's own beginTerm is refused as well.
   */
  | { type: 'beginTerm'; term: MasterTerm }
  /** `secret`: what the session's client shows with every request (the master draws it). */
  | { type: 'openSession'; principal: string; secret?: string }
  /** A client ends its session: its locks are released without lock-delay. */
  | { type: 'closeSession'; session: SessionId }
  /** The master saw the session's lease run out: its locks are released with lock-delay. */
  | { type: 'expireSession'; session: SessionId }
  | {
      type: 'open';
      session: SessionId;
      path: string;
      create: CreateMode;
      /** For a node this open creates (default file, permanent, empty). */
      kind?: NodeKind;
      ephemeral?: boolean;
      contents?: Uint8Array;
      /** The events this handle subscribes to. */
      events?: EventKind[];
    }
  | { type: 'close'; session: SessionId; handle: HandleId }
  /**
   * Whole-file write; with `ifGeneration`, only if the content generation is still that one.
   * `attempt` names the client's call: the same attempt again on the same handle, after it was
   * applied (its client did not hear the answer), is answered as that write was and applied once,
   * even after later writes of the handle (it keeps its last WRITES_KEPT outcomes; an attempt older
   * than those is ATTEMPT_FORGOTTEN). An older attempt never applied, after a later one was, is
   * ATTEMPT_DECIDED: applied now it would undo the later write.
   */
  | { type: 'setContents'; session: SessionId; handle: HandleId; contents: Uint8Array; ifGeneration?: number; attempt?: number }
  | { type: 'delete'; session: SessionId; handle: HandleId }
  | { type: 'setAcl'; session: SessionId; handle: HandleId; acl: Partial<AclNames> }
  /**
   * Try semantics: granted now or refused now. Blocking is the master's job. `attempt` names the
   * client's call (unique in its session): the newest attempt granted through the handle, asked
   * again, gets its grant again (even after a release), so a client that did not hear the answer
   * can ask again and learn it; an older attempt is never granted (ATTEMPT_FORGOTTEN). `final`: the
   * client's last word on the attempt (a try, not a blocking acquire's wait): whatever it is
   * answered decides the attempt, and a late copy of it is refused (ATTEMPT_DECIDED).
   */
  | { type: 'acquire'; session: SessionId; handle: HandleId; mode: LockMode; lockDelayMs?: number; attempt?: number; final?: boolean }
  | { type: 'release'; session: SessionId; handle: HandleId };

export type LsOpType = LsOp['type'];

export interface Stat {
  path: string;
  kind: NodeKind;
  ephemeral: boolean;
  /** Greater than that of any earlier node of the same name. */
  instance: number;
  /** Grows by one per write of the contents; 0 at creation. */
  contentGeneration: number;
  /** Changes whenever the lock goes from free to held; cell-wide increasing, so never reused by a name. */
  lockGeneration: number;
  /** Grows by one per ACL change; 0 at creation. */
  aclGeneration: number;
  /** CRC-32 of the contents. */
  checksum: number;
  length: number;
  acl: AclNames;
}

/** A lock that became free (no holders left), and from when it may be taken again. */
export interface FreedLock {
  path: string;
  availableAt: number;
}

export interface LsResults {
  beginTerm: { term: MasterTerm };
  openSession: { session: SessionId; secret?: string };
  closeSession: { freed: FreedLock[] };
  expireSession: { freed: FreedLock[] };
  open: { handle: HandleId; created: boolean; stat: Stat };
  close: { freed: FreedLock[] };
  /** `repeated`: the answer to an attempt already applied (the stat as that write left it; never to be cached). */
  setContents: { stat: Stat; repeated?: true };
  delete: { freed: FreedLock[] };
  setAcl: { stat: Stat };
  acquire: { sequencer: Sequencer };
  release: { freed: FreedLock[] };
}
export type LsResult = LsResults[LsOpType];

export type LsQuery =
  | { type: 'getContentsAndStat'; session: SessionId; handle: HandleId }
  | { type: 'stat'; session: SessionId; handle: HandleId }
  | { type: 'readdir'; session: SessionId; handle: HandleId }
  | { type: 'getSequencer'; session: SessionId; handle: HandleId }
  | { type: 'checkSequencer'; sequencer: Sequencer }
  /**
   * The live sessions and their secrets (the master's own query): a new master extends every one
   * of them. With `session`, only that one (none if it is not live).
   */
  | { type: 'sessions'; session?: SessionId }
  /** How many sessions are live (no ids, no secrets): for status pages and operators. */
  | { type: 'sessionCount' }
  /** The ephemeral files and directories of a session: its end deletes them. */
  | { type: 'ephemerals'; session: SessionId }
  /** Who holds the lock on `path`, or on every locked node (at most MAX_HELD_LOCKS_LISTED, by path): for status pages and operators. */
  | { type: 'heldLocks'; path?: string };

export type LsQueryType = LsQuery['type'];

export interface LsQueryResults {
  getContentsAndStat: { contents: Uint8Array; stat: Stat };
  stat: { stat: Stat };
  readdir: { names: string[] };
  getSequencer: { sequencer: Sequencer };
  checkSequencer: { valid: true };
  /** `secrets[i]` is that of `sessions[i]` ('' for a session opened without one). */
  sessions: { sessions: SessionId[]; secrets: string[] };
  sessionCount: { count: number };
  ephemerals: { paths: string[] };
  /** `more`: locked nodes past the listed ones were left out. */
  heldLocks: { locks: HeldLock[]; more: boolean };
}

/** A node's lock and the sessions holding it (one for exclusive, any number for shared). */
export interface HeldLock {
  path: string;
  mode: LockMode;
  generation: number;
  holders: Array<{ session: SessionId; principal: string }>;
}

/** heldLocks without a path lists this many locks at most. */
export const MAX_HELD_LOCKS_LISTED = 1_000;
export type LsQueryResult = LsQueryResults[LsQueryType];

/** An event for one subscribed handle. `child` names the child for the child* kinds. */
export interface LsEvent {
  session: SessionId;
  handle: HandleId;
  kind: EventKind;
  path: string;
  child?: string;
}

/**
 * What the database tells the master alone (never a client): a session was opened, whoever
 * proposed it and whether or not its answer arrived, so the master keeps a lease for every session
 * in the database.
 */
export interface SessionOpenedNote {
  kind: 'sessionOpened';
  session: SessionId;
}

/** Everything an applied op may emit: events for subscribed handles, and notes for the master. */
export type DbEvent = LsEvent | SessionOpenedNote;
