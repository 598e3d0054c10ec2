/** What clients and a cell's servers say to each other. */
import type { ActorRef, Asks } from '@actorfs/actors';
import type { AppliedEvents, LeadershipEvent } from '@actorfs/paxos';
import type { LsError, LsErrorCode } from './errors.ts';
import type { HandleId, LockMode, LsEvent, LsOp, LsQuery, LsQueryResult, LsResult, LsResults, SessionId } from './protocol.ts';

/** Errors of the service beyond the database's own. */
export type ServiceErrorCode =
  /** This server is not the master (`master` names it when known): nothing was done, ask there. */
  | 'NOT_MASTER'
  /** The master could not get an answer from Paxos: the op may or may not have been applied. */
  | 'UNAVAILABLE'
  /** A blocking acquire waited its whole timeout. */
  | 'TIMEOUT'
  | 'TOO_MANY_WAITERS'
  /** The session ended (expired, or closed) while the request waited. */
  | 'SESSION_EXPIRED'
  /** The request names a session without its secret: only the client that opened a session acts on it. */
  | 'NOT_SESSION_OWNER';

export type LsClientErrorCode = LsErrorCode | ServiceErrorCode;

export interface ServiceError {
  code: LsClientErrorCode;
  message: string;
  master?: ActorRef<ServerMsg>;
}

export type ServerReply<R> = { ok: true; result: R } | { ok: false; error: ServiceError | LsError };

/** The ops a client may propose: expiry and beginning a term are the master's alone. */
export type ClientOp = Exclude<LsOp, { type: 'expireSession' | 'beginTerm' }>;

/** What a KeepAlive answer carries besides the lease: database events and cache invalidations. */
export type MasterEvent = { type: 'event'; event: LsEvent } | { type: 'invalidate'; id: number; path: string };

/** The last event a client heard from the master of one term. */
export interface EventsSeen {
  term: string;
  seq: number;
}

export type KeepAliveReply =
  /**
   * `heldMs`: how long the master held the KeepAlive; the lease counts from its answer, at least
   * sentAt + heldMs. `events`: every one the client has not acknowledged to this master (`term`),
   * numbered from `firstSeq`, one apart; a number the client heard already is a copy.
   */
  | { ok: true; heldMs: number; leaseRemainingMs: number; term: string; events: MasterEvent[]; firstSeq: number; eventsLost: boolean; failover: boolean }
  | { ok: false; reason: 'unknownSession' | 'sessionExpired' | 'notMaster' };

/**
 * `secret`, on every request that names a session: the one its openSession answer gave. A request
 * without it for a session that has one is refused (NOT_SESSION_OWNER; a KeepAlive as unknownSession).
 */
export type ServerMsg =
  | ({ type: 'whoIsMaster' } & Asks<{ master: ActorRef<ServerMsg> | null }>)
  | ({ type: 'op'; op: ClientOp; secret?: string } & Asks<ServerReply<LsResult>>)
  /** Blocking acquire: granted, or refused once `timeoutMs` has passed (TIMEOUT). `attempt`: as in the database's acquire. */
  | ({ type: 'acquire'; session: SessionId; secret?: string; handle: HandleId; mode: LockMode; lockDelayMs?: number; attempt?: number; timeoutMs: number } & Asks<ServerReply<LsResults['acquire']>>)
  /** A read under the master's lease; `cache` asks to be told before the node next changes. */
  | ({ type: 'query'; query: LsQuery; secret?: string; cache?: { session: SessionId; path: string } } & Asks<ServerReply<LsQueryResult> & { cacheable?: boolean }>)
  /**
   * Held until the lease nears its end, or answered early with events. `acks`: invalidations the
   * client has applied. `answerNow`: a retry after a KeepAlive or its answer went missing; the
   * client does not know the lease the master last granted, so it is answered at once. `seen`:
   * the last event number the client heard from the master of `term` (its answers' events up to
   * it need not come again).
   */
  | ({ type: 'keepAlive'; session: SessionId; secret?: string; acks: number[]; answerNow?: boolean; seen?: EventsSeen } & Asks<KeepAliveReply>)
  | LeadershipEvent
  | AppliedEvents
  | { type: 'wake' };

export { type HandleId, type LsQueryResult, type LsResult, type SessionId };
