/** What a learner tells apply about the command it is applying. Deterministic: from the log, never from a clock. */
export interface ApplyMeta {
  /** The log slot. */
  slot: number;
  /** The command's position in the slot's batch. */
  index: number;
  /**
   * The leader's timestamp (ms) stamped into the slot when it was proposed; never less than an
   * earlier slot's (a new leader whose clock runs behind does not move time back).
   */
  time: number;
}

/** A domain error reaches the client as an error of its own kind (not a success carrying {error}). */
export interface DomainError {
  code: string;
  message: string;
}

export type ApplyOutcome<Result, Event> = { ok: true; result: Result; events?: Event[] } | { ok: false; error: DomainError; events?: Event[] };

/**
 * What a Paxos group replicates. Every replica applies the same commands in the same order, so
 * apply must be deterministic: no clocks (use meta.time), no randomness, no I/O.
 */
export interface StateMachine<Op = unknown, Result = unknown, Query = unknown, QueryResult = unknown, Event = never> {
  /** Checks an op before it is proposed (no log slot is used for a bad one): a reason, or undefined. */
  validate?(op: unknown): string | undefined;
  apply(op: Op, meta: ApplyMeta): ApplyOutcome<Result, Event>;
  query(q: Query): QueryResult;
  /** The state as pieces of plain msgpack-encodable data, each small (well under 1 MiB encoded). */
  snapshot(): Iterable<unknown>;
  /** Rebuilds the state from the pieces snapshot() gave, in order (replaces the current state). */
  restore(pieces: Iterable<unknown>): void;
}

/**
 * A registered machine: its name (what travels in props) and, as phantom types, what its ops,
 * results, queries and events are, so a client built from it is typed without casts.
 */
export interface MachineDef<Op = unknown, Result = unknown, Query = unknown, QueryResult = unknown, Event = never> {
  readonly name: string;
  /** Type carriers only: never set. */
  readonly types?: { op: Op; result: Result; query: Query; queryResult: QueryResult; event: Event };
}

/** Any machine definition, whatever its types (the type carriers are read-only, so covariant). */
export type AnyMachineDef = MachineDef<unknown, unknown, unknown, unknown, unknown>;
export type OpOf<M extends AnyMachineDef> = NonNullable<M['types']>['op'];
export type ResultOf<M extends AnyMachineDef> = NonNullable<M['types']>['result'];
export type QueryOf<M extends AnyMachineDef> = NonNullable<M['types']>['query'];
export type QueryResultOf<M extends AnyMachineDef> = NonNullable<M['types']>['queryResult'];
export type EventOf<M extends AnyMachineDef> = NonNullable<M['types']>['event'];

const machines = new Map<string, () => StateMachine>();

/**
 * Registers a machine by name, so replicas on any node can build one from their props. A name
 * registered twice is an error (two modules claiming one name would replicate different machines).
 */
export function defineStateMachine<Op, Result, Query, QueryResult, Event = never>(
  name: string,
  make: () => StateMachine<Op, Result, Query, QueryResult, Event>,
): MachineDef<Op, Result, Query, QueryResult, Event> {
  if (machines.has(name)) throw new Error(`state machine ${name} is already defined`);
  machines.set(name, make as unknown as () => StateMachine);
  return { name };
}

export function makeStateMachine(name: string): StateMachine {
  const make = machines.get(name);
  if (!make) throw new Error(`unknown state machine ${name} (is the module that defines it loaded on this node?)`);
  return make();
}
