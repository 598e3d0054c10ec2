/** Histories of concurrent operations: what clients invoked and saw, in the form the linearizability check takes. */

/** The output of an operation whose outcome is unknown. */
export const UNKNOWN: unique symbol = Symbol('linearizability.unknown');
export type Unknown = typeof UNKNOWN;

export type ClientId = number | string;

export interface Operation<I, O> {
  clientId: ClientId;
  input: I;
  /** Ignored (the model sees `UNKNOWN`) when `ret` is `Infinity`. */
  output: O | Unknown;
  call: number;
  /** `Infinity` for an operation that never returned: it may or may not have taken effect. */
  ret: number;
}

export type Event<I, O> =
  | { kind: 'invoke'; clientId: ClientId; opId?: number | string; input: I; time?: number }
  | { kind: 'return'; clientId: ClientId; opId?: number | string; output: O; time?: number }
  /** The outcome is unknown: the operation stays pending, and the client may invoke again. */
  | { kind: 'info'; clientId: ClientId; opId?: number | string; time?: number }
  /** The operation definitely did not take effect: it is dropped. */
  | { kind: 'fail'; clientId: ClientId; opId?: number | string; time?: number };

/**
 * Pairs invocations with completions. Events are in the order they happened; without
 * explicit `time`s, an event's index is its time. Invocations still open at the end are
 * pending. A client has at most one outstanding operation, so events pair up by client.
 */
export function operationsFromEvents<I, O>(events: readonly Event<I, O>[]): Operation<I, O>[] {
  const timed = events.filter((e) => e.time !== undefined).length;
  if (timed !== 0 && timed !== events.length) {
    throw new Error('malformed history: either every event or no event must have a time');
  }
  const open = new Map<ClientId, { op: Operation<I, O>; opId: number | string | undefined; index: number }>();
  const dropped = new Set<Operation<I, O>>();
  const ops: Operation<I, O>[] = [];
  let last = -Infinity;
  events.forEach((e, index) => {
    const where = `event #${index} (${e.kind} from client ${String(e.clientId)})`;
    const time = e.time ?? index;
    if (!(time >= last)) throw new Error(`malformed history: ${where} has time ${time}, before the previous event's ${last}`);
    last = time;
    const pending = open.get(e.clientId);
    if (e.kind === 'invoke') {
      if (pending) {
        throw new Error(
          `malformed history: ${where}, but the client's operation invoked at event #${pending.index} has not returned` +
            ' (a client must wait for a return, info or fail before invoking again)',
        );
      }
      const op: Operation<I, O> = { clientId: e.clientId, input: e.input, output: UNKNOWN, call: time, ret: Infinity };
      open.set(e.clientId, { op, opId: e.opId, index });
      ops.push(op);
      return;
    }
    if (!pending) throw new Error(`malformed history: ${where} has no matching invoke`);
    if (e.opId !== undefined && pending.opId !== undefined && e.opId !== pending.opId) {
      throw new Error(`malformed history: ${where} completes op ${String(e.opId)}, but the client's open op is ${String(pending.opId)}`);
    }
    open.delete(e.clientId);
    if (e.kind === 'return') {
      pending.op.output = e.output;
      pending.op.ret = time;
    } else if (e.kind === 'fail') {
      dropped.add(pending.op);
    }
  });
  return ops.filter((op) => !dropped.has(op));
}

export function validateOperations<I, O>(ops: readonly Operation<I, O>[]): void {
  const byClient = new Map<ClientId, Operation<I, O>[]>();
  for (const [i, op] of ops.entries()) {
    const what = `malformed history: operation #${i} (client ${String(op.clientId)}, call ${op.call}, ret ${op.ret})`;
    if (!Number.isFinite(op.call)) throw new Error(`${what} has no finite call time`);
    if (!(op.ret >= op.call)) throw new Error(`${what} returns before it is called`);
    if (op.ret === Infinity) continue;
    if (op.output === UNKNOWN) throw new Error(`${what} returned but its output is UNKNOWN; give it ret: Infinity instead`);
    let list = byClient.get(op.clientId);
    if (!list) byClient.set(op.clientId, (list = []));
    list.push(op);
  }
  // Pending operations are exempt: a client that gave up waiting may go on, while its request
  // is still in flight.
  for (const [client, list] of byClient) {
    list.sort((a, b) => a.call - b.call);
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (a.ret > b.call) {
        throw new Error(
          `malformed history: client ${String(client)} has overlapping operations [${a.call}, ${a.ret}] and [${b.call}, ${b.ret}]`,
        );
      }
    }
  }
}

export interface HistoryRecorder<I, O> {
  /** Records an invocation and returns its id; the client must have no outstanding operation. */
  invoke(clientId: ClientId, input: I): number;
  /** The operation returned `output`. */
  ok(id: number, output: O): void;
  /** The operation definitely did not take effect: it is dropped from the history. */
  fail(id: number): void;
  /** The outcome is unknown (crash, timeout): the operation stays pending, the client is free. */
  info(id: number): void;
  /** The history so far; operations not completed yet are pending. */
  operations(): Operation<I, O>[];
}

/** Records a history, timestamping every call with a logical clock. */
export function historyRecorder<I, O>(): HistoryRecorder<I, O> {
  let clock = 0;
  const records: { op: Operation<I, O>; status: 'open' | 'ok' | 'fail' | 'info' }[] = [];
  const busy = new Map<ClientId, number>();
  const complete = (id: number, status: 'ok' | 'fail' | 'info') => {
    const record = records[id];
    if (!record) throw new Error(`historyRecorder: unknown operation id ${id}`);
    if (record.status !== 'open') throw new Error(`historyRecorder: operation ${id} already completed (${record.status})`);
    record.status = status;
    busy.delete(record.op.clientId);
    return record.op;
  };
  return {
    invoke(clientId, input) {
      const open = busy.get(clientId);
      if (open !== undefined) throw new Error(`historyRecorder: client ${String(clientId)} still has operation ${open} outstanding`);
      const id = records.length;
      records.push({ op: { clientId, input, output: UNKNOWN, call: clock++, ret: Infinity }, status: 'open' });
      busy.set(clientId, id);
      return id;
    },
    ok(id, output) {
      const op = complete(id, 'ok');
      op.output = output;
      op.ret = clock++;
    },
    fail(id) {
      complete(id, 'fail');
      clock++;
    },
    info(id) {
      complete(id, 'info');
      clock++;
    },
    operations() {
      return records.filter((r) => r.status !== 'fail').map((r) => ({ ...r.op }));
    },
  };
}
