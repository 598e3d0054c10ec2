/**
 * @actorfs/lockservice: a Chubby cell's foundations.
 *
 * Design:
 * - `LockDb` is the cell's database as a pure, deterministic state machine in the Paxos
 *   package's contract, registered per cell as `lockservice/<cell>` (`cellMachine`). Time enters only as `meta.time`, the leader's
 *   timestamp; the database keeps the newest one it saw, so its clock never goes back.
 * - Session leases live in the master's memory, as in Chubby: the master proposes
 *   `expireSession` when a lease runs out, and the database then closes the session's handles,
 *   releases its locks with lock-delay and deletes its ephemeral nodes. `closeSession` does the
 *   same without lock-delay.
 * - Handles are in the database. Events are computed by apply for the handles subscribed to
 *   them, so every replica derives the same events and a new master needs no handle-rebuilding
 *   round with the clients; a node's deletion closes its handles (holders hear
 *   `handleInvalid`). The cost is a log slot per open and close.
 * - Locks have try semantics in the database (granted or refused now, with the reason). Blocking
 *   acquire and its timeout are the master's (`LockWaiters`): it queues waiters in memory and
 *   tries the head again when a result reports the lock freed (`freed: { path, availableAt }`,
 *   where `availableAt` is past the lock-delay). A waiter queue in the database would need an op
 *   for every timeout and for every lock-delay's end, since apply runs only when an op arrives.
 * - Lock generations come from one cell-wide counter: a name never reuses one, even after delete
 *   and create, so `SequencerGuard` can order any two sequencers of a lock. Content and ACL
 *   generations count per node from 0 (a handle names the node's instance, so a CAS never meets
 *   a re-created node's generation).
 * - Snapshots are pieces of records (about 64 KiB each); restore rebuilds the indexes and checks
 *   every invariant (`checkInvariants`) before it replaces anything.
 * - Every map is bounded (`LsLimits`: sessions, handles, nodes, bytes); an op past a bound is
 *   refused with LIMIT_REACHED and changes nothing.
 * - The master's side of sessions (`SessionLeases`), its blocking acquire (`LockWaiters`) and the
 *   client's lease (`ClientLease`) are pure `step(input, now) -> effects` cores: held KeepAlives
 *   answered near the lease end or early to carry events, expiry proposals, grace across
 *   failover, FIFO waiters with timeouts, jeopardy.
 * - The cell (`cellConfig`, `planCell`): per replica node a Paxos acceptor, proposer and learner
 *   (the machine is `lockservice/<cell>`) and a `Server`. A server is the master while its
 *   node's proposer leads (leadership events, one `Master` per ballot); it begins its term,
 *   reads the live sessions and takes them over, and proposes only through its own proposer, so
 *   a deposed master cannot reach the new leader by a hint. Other servers answer `whoIsMaster` by
 *   asking their proposer for the leader.
 * - The client (`ClientSession` actor, `LsClient` promise API) finds the master, keeps one
 *   KeepAlive held there, and caches contents and stat write-through. A write, ACL change,
 *   delete or lock grant on a node waits until every other session caching it has acknowledged
 *   the invalidation (its next KeepAlive) or its lease has run out; a new master first waits
 *   until every session it took over has flushed (answered with `failover`) or a lease passed.
 *   A read is cacheable only if no write of the node is under way when the master serves it,
 *   and the client drops it if an invalidation arrived meanwhile.
 * - Events reach a client at least once, in commit order: the master keeps each session's events
 *   until the client's next KeepAlive acknowledges them by number (`UnackedEvents`, numbered
 *   within the master's term), every answer carries all not yet acknowledged, and the client
 *   (`EventReceiver`) passes on only what it has not heard. At `maxPendingEvents` they are
 *   dropped for one loss mark (the client flushes its cache, its take says `lost`). A new master
 *   cannot resend the old one's: handles subscribed to `masterFailover` hear that instead.
 * - The network may deliver a request twice: a server drops a copy by its reply handle. A
 *   mutation whose answer is lost is UNAVAILABLE (outcome unknown), never silently retried,
 *   except two that name their attempt. An acquire whose outcome is unknown is asked again as a
 *   final try of the same attempt: it learns the grant if there was one (even if another call of
 *   the handle released it since), and decides the attempt, so no late copy of it can be granted.
 *   A handle grants attempts in order: an acquire older than its newest grant is ATTEMPT_FORGOTTEN
 *   (whether a copy of it was granted is no longer known). A write is asked again under its attempt: the database
 *   answers a repeat of any of a handle's last 16 applied write attempts as that write was
 *   (`repeated`, never cached), so it is applied once; an older attempt never applied after a
 *   later one was is refused (ATTEMPT_DECIDED), one older than the 16 kept is ATTEMPT_FORGOTTEN.
 * - The master keeps a lease for every session the database opens: the database notes each open
 *   for the master (`SessionOpenedNote`, never a client's event), so a session whose open's
 *   answer the master did not hear still expires under that master.
 * - A new master begins its term in the database (`beginTerm`, its ballot) before it serves, and
 *   every op it proposes carries that term: an op of an older term (a deposed master's late copy,
 *   which invalidated no cache of the new master's) is refused as DEPOSED_MASTER, and the client
 *   asks the new master.
 */
export type { ApplyMeta, ApplyOutcome, DomainError, StateMachine } from './contract.ts';
export { lsConfig, DEFAULT_LIMITS, MAX_LOCK_DELAY_MS, type LsConfig, type LsLimits } from './config.ts';
export type { LsErrorCode, LsError, Outcome } from './errors.ts';
export { LockDb } from './db.ts';
export { EVENT_KINDS, MAX_HELD_LOCKS_LISTED, NO_TERM } from './protocol.ts';
export type {
  AclNames,
  AclPermission,
  CreateMode,
  DbEvent,
  EventKind,
  FreedLock,
  HandleId,
  HeldLock,
  LockMode,
  LsEvent,
  LsOp,
  LsOpType,
  LsQuery,
  LsQueryResult,
  LsQueryResults,
  LsResult,
  LsResults,
  MasterTerm,
  NodeKind,
  Sequencer,
  SessionOpenedNote,
  SessionId,
  Stat,
} from './protocol.ts';
export { cellRoot, aclDirectory, pathProblem } from './paths.ts';
export { checkInvariants, checkProgress, progressOf, type Progress } from './invariants.ts';
export { SequencerGuard, sequencerProblem } from './sequencer-guard.ts';
export { PIECE_BYTES, type SnapshotPiece } from './snapshot.ts';
export type { DbState } from './state.ts';
export { SessionLeases, DEFAULT_LEASE_TIMING, EXPIRE_RETRY_MS, type LeaseTiming, type LeaseInput, type LeaseEffect } from './session-leases.ts';
export { ClientLease, DEFAULT_CLIENT_LEASE_TIMING, type ClientLeaseState, type ClientLeaseTiming, type ClientLeaseInput, type ClientLeaseEffect } from './client-lease.ts';
export { LockWaiters, DEFAULT_WAITER_LIMITS, type Waiter, type WaiterLimits, type TryOutcome, type WaitersInput, type WaitersEffect } from './lock-waiters.ts';
export { cellMachine, type LsMachine } from './machine.ts';
export { cellConfig, planCell, DEFAULT_CELL_TIMING, type CellConfig, type CellOptions, type CellPlan, type CellTiming } from './cell.ts';
export { Server, type ServerProps } from './server.ts';
export { ClientSession, MAX_CACHED_FILES, MAX_BUFFERED_EVENTS, type ClientProps } from './client.ts';
export { LsClient, LsClientError, type OpenOptions, type SessionAsker } from './api.ts';
export type { ClientEvent, ClientMsg, ClientRequest, ClientResults, ClientStatus, SessionEvent } from './client-protocol.ts';
export type { ClientOp, KeepAliveReply, LsClientErrorCode, MasterEvent, ServerMsg, ServerReply, ServiceError, ServiceErrorCode } from './server-protocol.ts';
