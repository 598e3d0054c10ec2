/**
 * The state-machine contract the Paxos package is moving to, agreed across the team. It is copied
 * here, structurally identical, until `@actorfs/paxos` exports it; then this file becomes one
 * re-export.
 */

/** What a learner tells apply about the command it is applying. Deterministic: from the log, never from a clock. */
export interface ApplyMeta {
  slot: number; // the log slot
  index: number; // the command's position in the slot's batch
  time: number; // the leader's timestamp (ms) stamped into the slot when it was proposed
}
/** A domain error reaches the client as an error of its own kind (not a success carrying {error}). */
export interface DomainError {
  code: string;
  message: string;
}
export type ApplyOutcome<Result, Event> =
  | { ok: true; result: Result; events?: Event[] }
  | { ok: false; error: DomainError; events?: Event[] };
export interface StateMachine<Op, Result, Query, QueryResult, Event = never> {
  /** Checks an op before it is proposed (no log slot is used for a bad one): a reason, or undefined. */
  validate?(op: unknown): string | undefined;
  apply(op: Op, meta: ApplyMeta): ApplyOutcome<Result, Event>;
  query(q: Query): QueryResult;
  /** The state as pieces of plain msgpack-encodable data, each small (well under 1 MiB encoded). */
  snapshot(): Iterable<unknown>;
  /** Rebuilds the state from the pieces snapshot() gave, in order (replaces the current state). */
  restore(pieces: Iterable<unknown>): void;
}
