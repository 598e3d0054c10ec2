/**
 * What a Paxos group replicates. Every replica applies the same commands in the same order, so
 * apply must be deterministic: no clocks, no randomness, no I/O.
 */
export interface StateMachine {
  /** Applies a command and returns its result (sent to the client that proposed it). */
  apply(op: unknown): unknown;
  /** Answers a read-only query (served under the leader's lease, without a log slot). */
  query(q: unknown): unknown;
  /** Plain data (msgpack-encodable) from which restore rebuilds the same state. */
  snapshot(): unknown;
  restore(snapshot: unknown): void;
}

const machines = new Map<string, () => StateMachine>();

/** Registers a machine by name, so replicas on any node can build one from their props. */
export function defineStateMachine(name: string, make: () => StateMachine): string {
  machines.set(name, make);
  return name;
}

export function makeStateMachine(name: string): StateMachine {
  const make = machines.get(name);
  if (!make) throw new Error(`unknown state machine ${name} (is the module that defines it loaded on this node?)`);
  return make();
}
