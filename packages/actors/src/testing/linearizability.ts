/**
 * Linearizability checking for histories of concurrent operations, in the style of
 * Knossos and Porcupine.
 *
 * The search is Wing & Gong's algorithm with Lowe's improvements: operations live in a
 * doubly-linked list of call/return entries sorted by time; an operation may be linearized
 * next only if its call entry comes before the first return entry still in the list (any
 * operation that returned earlier must already be linearized). Linearizing an operation
 * "lifts" its two entries out of the list, backtracking puts them back (dancing links), and
 * every (set of linearized operations, model state) configuration reached is memoized so it
 * is explored at most once. With `Model.partition`, independent parts of the history (e.g.
 * the keys of a map) are checked separately (P-compositionality), which keeps the search
 * space small.
 *
 * Operations whose outcome is unknown (the client crashed or timed out: Knossos's "info")
 * have `ret: Infinity`: they have no return entry, so they may be linearized anywhere after
 * their call, or never, and the model sees their output as `UNKNOWN`.
 *
 * Times are only compared, never interpreted. Equal call and return times count as
 * overlapping (the more permissive reading).
 */

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

/** A sequential specification, in Porcupine's form. States must be treated as immutable. */
export interface Model<S, I, O> {
  init(): S;
  /** Is `output` a legal result of applying `input` in `state`, and what state follows? */
  step(state: S, input: I, output: O | Unknown): { ok: boolean; state: S };
  /** Identifies a state, for the memo: equal keys mean equal states. Default: `structuralKey`. */
  key?(state: S): string;
  /** Splits a history into parts that can be checked independently (e.g. one per key). */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** For error messages, e.g. `read() -> 3`. */
  describe?(input: I, output: O | Unknown): string;
}

export type Event<I, O> =
  | { kind: 'invoke'; clientId: ClientId; opId?: number | string; input: I; time?: number }
  | { kind: 'return'; clientId: ClientId; opId?: number | string; output: O; time?: number }
  /** The outcome is unknown: the operation stays pending, and the client may invoke again. */
  | { kind: 'info'; clientId: ClientId; opId?: number | string; time?: number }
  /** The operation definitely did not take effect: it is dropped. */
  | { kind: 'fail'; clientId: ClientId; opId?: number | string; time?: number };

export type LinearizabilityResult<I, O> =
  /** One linearization per partition (a single one without `Model.partition`). Pending
   * operations appear only where they took effect; those that need not have are left out. */
  | { ok: true; linearizations: Operation<I, O>[][] }
  | {
      ok: false;
      /** Human-readable explanation built from the fields below. */
      reason: string;
      /** The longest linearizable prefix the search found. */
      prefix: Operation<I, O>[];
      /** The operation whose return was reached without any way to linearize it after `prefix`. */
      failed: Operation<I, O>;
      /** The operations that could have come next after `prefix`; none leads anywhere. */
      candidates: Operation<I, O>[];
    }
  | { ok: 'unknown'; reason: 'timeout' | 'steps' };

export interface CheckOptions {
  /** Give up (result `ok: 'unknown'`) after this long. */
  timeoutMs?: number;
  /**
   * Give up (`ok: 'unknown'`, reason 'steps') after this many search steps in all: a budget that
   * does not depend on how loaded the machine is, for tests that claim the search stays small.
   */
  maxSteps?: number;
}

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  opts: CheckOptions = {},
): LinearizabilityResult<I, O> {
  validateOperations(ops);
  const deadline = opts.timeoutMs === undefined ? undefined : performance.now() + opts.timeoutMs;
  const parts = model.partition ? model.partition(ops) : [[...ops]];
  const linearizations: Operation<I, O>[][] = [];
  const budget = { steps: opts.maxSteps ?? Infinity };
  for (const [index, part] of parts.entries()) {
    const r = search(model, part, deadline, budget);
    if (r === 'timeout' || r === 'steps') return { ok: 'unknown', reason: r };
    if (!Array.isArray(r)) {
      const where = parts.length > 1 ? ` (in partition ${index + 1} of ${parts.length})` : '';
      return { ok: false, reason: explain(model, r, where), ...r.ops };
    }
    linearizations.push(r);
  }
  return { ok: true, linearizations };
}

export function checkEvents<S, I, O>(
  model: Model<S, I, O>,
  events: readonly Event<I, O>[],
  opts: CheckOptions = {},
): LinearizabilityResult<I, O> {
  return checkOperations(model, operationsFromEvents(events), opts);
}

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

function validateOperations<I, O>(ops: readonly Operation<I, O>[]): void {
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

// ---------------------------------------------------------------------------------------
// The search

interface Entry {
  readonly op: number; // index into the partition's operations; -1 for the list head
  readonly time: number;
  readonly isCall: boolean;
  /** A call's return entry; null for pending operations and for return entries. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

interface Failure<S, I, O> {
  state: S;
  ops: { prefix: Operation<I, O>[]; failed: Operation<I, O>; candidates: Operation<I, O>[] };
}

function search<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  deadline: number | undefined,
  budget: { steps: number },
): Operation<I, O>[] | Failure<S, I, O> | 'timeout' | 'steps' {
  const keyOf = model.key ? (s: S) => model.key!(s) : structuralKey;
  const head = buildEntryList(ops);
  const bits = new Uint32Array((ops.length + 31) >>> 5);
  let bitsHash = 0; // Zobrist hash of `bits`, updated incrementally
  const memo = new Memo(bits.length);
  let state = model.init();
  let stateKey = keyOf(state);
  const stack: { entry: Entry; state: S; key: string }[] = [];
  let remaining = ops.filter((op) => op.ret !== Infinity).length;
  let best: Failure<S, I, O> | undefined;
  let entry = head.next;
  for (let iteration = 0; remaining > 0; iteration++) {
    if (deadline !== undefined && (iteration & 1023) === 0 && performance.now() >= deadline) return 'timeout';
    if (--budget.steps < 0) return 'steps';
    // Unreachable: some unlinearized operation's return entry always lies ahead.
    if (entry === null) throw new Error('linearizability: internal error: ran off the entry list');
    if (entry.isCall) {
      const i = entry.op;
      const op = ops[i]!;
      const pending = entry.match === null;
      const next = model.step(state, op.input, pending ? UNKNOWN : op.output);
      if (next.ok) {
        const nextKey = keyOf(next.state);
        // A pending operation without effect may as well never happen: it constrains nothing
        // (no return entry), so linearizing it would only multiply the configurations.
        if (!(pending && nextKey === stateKey)) {
          bits[i >>> 5] |= 1 << (i & 31);
          const nextHash = bitsHash ^ zobrist(i);
          if (memo.add(mix(nextHash, nextKey), bits, nextKey)) {
            stack.push({ entry, state, key: stateKey });
            [state, stateKey, bitsHash] = [next.state, nextKey, nextHash];
            lift(entry);
            if (!pending) remaining--;
            entry = head.next;
            continue;
          }
          bits[i >>> 5] &= ~(1 << (i & 31));
        }
      }
      entry = entry.next;
    } else {
      // An operation returns here that is not linearized yet, and no candidate before it
      // leads anywhere: backtrack.
      if (!best || stack.length > best.ops.prefix.length) best = failure(ops, head, entry, stack, state);
      const top = stack.pop();
      if (!top) return best;
      const i = top.entry.op;
      bits[i >>> 5] &= ~(1 << (i & 31));
      bitsHash ^= zobrist(i);
      [state, stateKey] = [top.state, top.key];
      unlift(top.entry);
      if (top.entry.match) remaining++;
      entry = top.entry.next;
    }
  }
  return stack.map((s) => ops[s.entry.op]!);
}

function buildEntryList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  for (const [i, op] of ops.entries()) {
    const call: Entry = { op: i, time: op.call, isCall: true, match: null, prev: null, next: null };
    entries.push(call);
    if (op.ret !== Infinity) {
      call.match = { op: i, time: op.ret, isCall: false, match: null, prev: null, next: null };
      entries.push(call.match);
    }
  }
  // On equal times calls go first, so touching operations count as concurrent.
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Entry = { op: -1, time: -Infinity, isCall: false, match: null, prev: null, next: null };
  let prev = head;
  for (const e of entries) {
    e.prev = prev;
    prev.next = e;
    prev = e;
  }
  return head;
}

function unlink(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
}

/** Undoes `unlink`, which works because `e.prev`/`e.next` are untouched and undos are LIFO. */
function relink(e: Entry): void {
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

function lift(call: Entry): void {
  unlink(call);
  if (call.match) unlink(call.match);
}

function unlift(call: Entry): void {
  if (call.match) relink(call.match);
  relink(call);
}

function failure<S, I, O>(
  ops: readonly Operation<I, O>[],
  head: Entry,
  stuck: Entry,
  stack: readonly { entry: Entry }[],
  state: S,
): Failure<S, I, O> {
  const candidates: Operation<I, O>[] = [];
  for (let e = head.next; e && e !== stuck; e = e.next) if (e.isCall) candidates.push(ops[e.op]!);
  return { state, ops: { prefix: stack.map((s) => ops[s.entry.op]!), failed: ops[stuck.op]!, candidates } };
}

/**
 * Set of (bitset, state key) pairs: an open-addressing hash table over flat arrays, because
 * a failing check can visit hundreds of thousands of configurations and an object (and a
 * typed array) per entry would leave most of the time to the garbage collector.
 */
class Memo {
  private size = 0;
  private slots = new Int32Array(1024); // entry index + 1; 0 = empty
  private hashes = new Int32Array(512);
  private pool: Uint32Array; // the entries' bitsets, `words` each
  private readonly keys: string[] = [];

  constructor(private readonly words: number) {
    this.pool = new Uint32Array(512 * words);
  }

  /** Adds the pair; false if it was already there. */
  add(hash: number, bits: Uint32Array, key: string): boolean {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (let e = this.slots[slot]! - 1; e >= 0; slot = (slot + 1) & mask, e = this.slots[slot]! - 1) {
      if (this.hashes[e] === hash && this.keys[e] === key && this.sameBits(e, bits)) return false;
    }
    const e = this.size++;
    if (e === this.hashes.length) this.grow();
    this.hashes[e] = hash;
    this.keys.push(key);
    this.pool.set(bits, e * this.words);
    if (this.slots.length < 2 * this.size) this.rehash();
    else this.slots[slot] = e + 1;
    return true;
  }

  private sameBits(e: number, bits: Uint32Array): boolean {
    for (let i = 0, at = e * this.words; i < bits.length; i++) if (this.pool[at + i] !== bits[i]) return false;
    return true;
  }

  private grow(): void {
    const hashes = new Int32Array(this.hashes.length * 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const pool = new Uint32Array(this.pool.length * 2);
    pool.set(this.pool);
    this.pool = pool;
  }

  /** Doubles the table and reinserts every entry, including the one just added. */
  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let slot = this.hashes[e]! & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = e + 1;
    }
  }
}

// Read once: under a vm context (jest's) every lookup of a global such as Math goes through the context's interceptors.
const { imul } = Math;

/** A fixed pseudo-random word per operation index (murmur3's finalizer). */
function zobrist(i: number): number {
  let h = imul(i + 1, 0x9e3779b1);
  h = imul(h ^ (h >>> 16), 0x85ebca6b);
  h = imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function mix(bitsHash: number, key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) h = imul(h ^ key.charCodeAt(i), 0x01000193);
  return (bitsHash ^ imul(h, 0x9e3779b1)) | 0;
}

// ---------------------------------------------------------------------------------------
// Explanations

const SHOWN = 10; // operations listed per section of an explanation

function explain<S, I, O>(model: Model<S, I, O>, f: Failure<S, I, O>, where: string): string {
  const line = (op: Operation<I, O>) => `  ${describeOperation(model, op)}`;
  const stateKey = model.key ? model.key(f.state) : structuralKey(f.state);
  const { prefix, failed, candidates } = f.ops;
  const lines = [`not linearizable${where}: ${describeOperation(model, failed)} cannot be linearized.`];
  lines.push(`Longest linearizable prefix: ${prefix.length} operation(s), ending in state ${stateKey}`);
  if (prefix.length > SHOWN) lines.push(`  ... ${prefix.length - SHOWN} earlier operation(s)`);
  lines.push(...prefix.slice(-SHOWN).map(line));
  lines.push('Every operation that could come next is illegal there or leads to a dead end:');
  for (const op of candidates.slice(0, SHOWN)) {
    const legal = model.step(f.state, op.input, op.ret === Infinity ? UNKNOWN : op.output).ok;
    lines.push(`${line(op)}  (${legal ? 'legal, but every continuation dead-ends' : 'illegal in this state'})`);
  }
  if (candidates.length > SHOWN) lines.push(`  ... ${candidates.length - SHOWN} more`);
  return lines.join('\n');
}

export function describeOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const output = op.ret === Infinity ? UNKNOWN : op.output;
  const what = model.describe
    ? model.describe(op.input, output)
    : `${structuralKey(op.input)} -> ${output === UNKNOWN ? '?' : structuralKey(output)}`;
  const ret = op.ret === Infinity ? 'pending' : `ret ${op.ret}`;
  return `client ${String(op.clientId)} ${what} [call ${op.call}, ${ret}]`;
}

/**
 * A canonical string for plain data (primitives, arrays, plain objects, Maps, Sets):
 * structurally equal values get equal keys, whatever their property or insertion order.
 */
export function structuralKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return `${value}n`;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(structuralKey).join(',')}]`;
      if (value instanceof Map) {
        const entries = [...value].map(([k, v]) => `${structuralKey(k)}=>${structuralKey(v)}`);
        return `Map{${entries.sort().join(',')}}`;
      }
      if (value instanceof Set) return `Set{${[...value].map(structuralKey).sort().join(',')}}`;
      const record = value as Record<string, unknown>;
      const fields = Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${structuralKey(record[k])}`);
      return `{${fields.join(',')}}`;
    }
    default:
      return String(value);
  }
}

// ---------------------------------------------------------------------------------------
// Recording

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
