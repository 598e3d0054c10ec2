/**
 * Ready-made sequential models for the linearizability checker: a register, a key-value map,
 * advisory locks (exclusive and shared) and whole files with content generations. Values are
 * compared structurally (`structuralKey`), so they may be plain data.
 */
import { UNKNOWN, structuralKey } from './linearizability.ts';
import type { ClientId, Model, Operation, Unknown } from './linearizability.ts';

export type RegisterInput<V> = { op: 'read' } | { op: 'write'; value: V } | { op: 'cas'; expected: V; value: V };
/** `read`: the value read; `write`: ignored (e.g. `undefined`); `cas`: whether it swapped. */
export type RegisterOutput<V> = V | boolean | undefined;

export type KvInput<K, V> =
  | { op: 'get'; key: K }
  | { op: 'put'; key: K; value: V }
  | { op: 'cas'; key: K; expected: V; value: V };
/** `get`: the value read; `put`: ignored; `cas`: whether it swapped. */
export type KvOutput<V> = RegisterOutput<V>;
/** Written keys only, by `structuralKey` of the key. */
export type KvState<V> = ReadonlyMap<string, V>;

/** A single read/write/compare-and-set register holding `initial` at first. */
export function registerModel<V>(initial: V): Model<V, RegisterInput<V>, RegisterOutput<V>> {
  return {
    init: () => initial,
    step: registerStep,
    key: structuralKey,
    describe: describeRegister,
  };
}

/**
 * A map from keys to registers; keys never written read as `missing`. Each key is checked
 * on its own (`partition`), which is sound because linearizability is local.
 */
export function kvModel<K, V>(missing: V): Model<KvState<V>, KvInput<K, V>, KvOutput<V>> {
  return {
    init: () => new Map(),
    step: (state, input, output) => stepKeyed(state, input.key, missing, (current) => registerStep(current, asRegisterInput(input), output)),
    key: structuralKey,
    partition: (ops) => partitionBy(ops, (input) => input.key),
    describe(input, output) {
      const key = structuralKey(input.key);
      switch (input.op) {
        case 'get':
          return `get(${key}) -> ${show(output)}`;
        case 'put':
          return `put(${key}, ${show(input.value)})`;
        case 'cas':
          return `cas(${key}, ${show(input.expected)}, ${show(input.value)}) -> ${show(output)}`;
      }
    },
  };
}

function registerStep<V>(
  state: V,
  input: RegisterInput<V>,
  output: RegisterOutput<V> | Unknown,
): { ok: boolean; state: V } {
  switch (input.op) {
    case 'read':
      return { ok: output === UNKNOWN || same(output, state), state };
    case 'write':
      return { ok: true, state: input.value };
    case 'cas': {
      // Even with an unknown outcome, whether a cas that took effect swapped is up to the state.
      const swaps = same(state, input.expected);
      if (output !== UNKNOWN && output !== swaps) return { ok: false, state };
      return { ok: true, state: swaps ? input.value : state };
    }
  }
}

function describeRegister<V>(input: RegisterInput<V>, output: RegisterOutput<V> | Unknown): string {
  switch (input.op) {
    case 'read':
      return `read() -> ${show(output)}`;
    case 'write':
      return `write(${show(input.value)})`;
    case 'cas':
      return `cas(${show(input.expected)}, ${show(input.value)}) -> ${show(output)}`;
  }
}

function asRegisterInput<K, V>(input: KvInput<K, V>): RegisterInput<V> {
  switch (input.op) {
    case 'get':
      return { op: 'read' };
    case 'put':
      return { op: 'write', value: input.value };
    case 'cas':
      return { op: 'cas', expected: input.expected, value: input.value };
  }
}

const same = (a: unknown, b: unknown): boolean => a === b || structuralKey(a) === structuralKey(b);

const show = (value: unknown): string => (value === UNKNOWN ? '?' : structuralKey(value));

/** Steps the entry under `key` (`initial` if absent) of a map state, copying the map only on a change. */
function stepKeyed<T>(
  state: ReadonlyMap<string, T>,
  key: unknown,
  initial: T,
  step: (current: T) => { ok: boolean; state: T },
): { ok: boolean; state: ReadonlyMap<string, T> } {
  const k = structuralKey(key);
  const current = state.has(k) ? (state.get(k) as T) : initial;
  const next = step(current);
  if (!next.ok || next.state === current) return { ok: next.ok, state };
  return { ok: true, state: new Map(state).set(k, next.state) };
}

/**
 * Splits a history by a key of each input. An input without a key (a lock holder's expiry)
 * touches every part at one instant, which separate checks could place at different instants,
 * so a history holding one is checked whole.
 */
function partitionBy<I, O>(ops: readonly Operation<I, O>[], keyOf: (input: I) => unknown): Operation<I, O>[][] {
  const parts = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const k = keyOf(op.input);
    if (k === undefined) return [[...ops]];
    const key = structuralKey(k);
    const part = parts.get(key);
    if (part) part.push(op);
    else parts.set(key, [op]);
  }
  return [...parts.values()];
}

// ---------------------------------------------------------------------------------------
// Locks

export type LockMode = 'exclusive' | 'shared';

/**
 * Operations on advisory locks, each by a `holder` (a client or session):
 * - `acquire` blocks until granted: its output is the lock generation granted, or `true` when
 *   the history does not record generations; one that timed out is a `fail` (or `info`).
 * - `tryAcquire` answers at once: a generation (or `true`) if granted, `false` if refused.
 * - `release`: `true` if the holder held the lock and let it go, `false` if it held nothing.
 * - `expire`: the holder's session ended (no lock named): it loses every lock it holds.
 */
export type LockInput<L> =
  | { op: 'acquire'; lock: L; holder: ClientId; mode: LockMode }
  | { op: 'tryAcquire'; lock: L; holder: ClientId; mode: LockMode }
  | { op: 'release'; lock: L; holder: ClientId }
  | { op: 'expire'; holder: ClientId };
export type LockOutput = number | boolean | undefined;

/**
 * One lock: its exclusive holder or shared holders (sorted), and its generation: the one granted
 * last if `known`, else a lower bound (the lock was taken by an acquire whose output is unknown).
 */
export interface LockState {
  exclusive: ClientId | null;
  shared: readonly ClientId[];
  generation: number;
  known: boolean;
}

/**
 * Advisory locks in exclusive and shared mode: never two exclusive holders, never an exclusive
 * holder beside shared ones, a refusal only while a conflicting holder exists, and a lock
 * generation that grows each time the lock goes from free to held (shared holders who join
 * see the same one). Each lock is checked on its own, unless the history holds an `expire`.
 * A refusal the model cannot see the reason for (a lock-delay after an expiry) must be
 * recorded as a `fail`.
 */
export function lockModel<L>(): Model<ReadonlyMap<string, LockState>, LockInput<L>, LockOutput> {
  const FREE: LockState = { exclusive: null, shared: [], generation: 0, known: true };
  return {
    init: () => new Map(),
    step(state, input, output) {
      if (input.op === 'expire') {
        const next = new Map<string, LockState>();
        for (const [key, lock] of state) next.set(key, withoutHolder(lock, input.holder));
        return { ok: true, state: next };
      }
      return stepKeyed(state, input.lock, FREE, (lock) => lockStep(lock, input, output));
    },
    key: structuralKey,
    partition: (ops) => partitionBy(ops, (input) => (input.op === 'expire' ? undefined : input.lock)),
    describe(input, output) {
      const lock = input.op === 'expire' ? '' : `${structuralKey(input.lock)}, `;
      const mode = input.op === 'acquire' || input.op === 'tryAcquire' ? `, ${input.mode}` : '';
      return `${input.op}(${lock}${structuralKey(input.holder)}${mode}) -> ${show(output)}`;
    },
  };
}

function lockStep(lock: LockState, input: Exclude<LockInput<unknown>, { op: 'expire' }>, output: LockOutput | Unknown): { ok: boolean; state: LockState } {
  const holds = lock.exclusive === input.holder || lock.shared.includes(input.holder);
  switch (input.op) {
    case 'release':
      if (output === UNKNOWN) return { ok: true, state: holds ? withoutHolder(lock, input.holder) : lock };
      return holds === (output === true) ? { ok: true, state: holds ? withoutHolder(lock, input.holder) : lock } : { ok: false, state: lock };
    case 'acquire':
    case 'tryAcquire': {
      const grantable = !holds && lock.exclusive === null && (input.mode === 'shared' || lock.shared.length === 0);
      if (output === false) return { ok: input.op === 'tryAcquire' && !grantable, state: lock };
      if (!grantable) return { ok: false, state: lock };
      const joining = lock.shared.length > 0;
      let { generation, known } = lock;
      if (typeof output === 'number') {
        // A joining shared holder sees the generation granted when the lock was taken; a lock
        // taken from free gets a generation above every earlier one.
        if (joining && known ? output !== generation : output <= generation) return { ok: false, state: lock };
        [generation, known] = [output, true];
      } else if (!joining) {
        known = false; // taken at a generation not recorded: above `generation`, which stays a lower bound
      }
      const state: LockState =
        input.mode === 'exclusive'
          ? { exclusive: input.holder, shared: [], generation, known }
          : { exclusive: null, shared: [...lock.shared, input.holder].sort(compareIds), generation, known };
      return { ok: true, state };
    }
  }
}

function withoutHolder(lock: LockState, holder: ClientId): LockState {
  if (lock.exclusive === holder) return { ...lock, exclusive: null };
  return lock.shared.includes(holder) ? { ...lock, shared: lock.shared.filter((h) => h !== holder) } : lock;
}

const compareIds = (a: ClientId, b: ClientId): number => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);

// ---------------------------------------------------------------------------------------
// Files

/**
 * Whole-file operations on files named by `path`, each with a content generation that grows by
 * one per write: `read` returns `{ contents, generation }`, `write` the new generation, and
 * `cas` writes only if the generation is still `expected`, returning the new generation or
 * `false`. An output of `undefined` for a write means "not recorded".
 */
export type FileInput<P, C> = { op: 'read'; path: P } | { op: 'write'; path: P; contents: C } | { op: 'cas'; path: P; expected: number; contents: C };
export type FileOutput<C> = { contents: C; generation: number } | number | false | undefined;
export interface FileState<C> {
  contents: C;
  generation: number;
}

/** Files that start as `initial` at generation 0, each checked on its own. */
export function fileModel<P, C>(initial: C): Model<ReadonlyMap<string, FileState<C>>, FileInput<P, C>, FileOutput<C>> {
  return {
    init: () => new Map(),
    step: (state, input, output) => stepKeyed(state, input.path, { contents: initial, generation: 0 }, (file) => fileStep(file, input, output)),
    key: structuralKey,
    partition: (ops) => partitionBy(ops, (input) => input.path),
    describe(input, output) {
      const path = structuralKey(input.path);
      switch (input.op) {
        case 'read':
          return `read(${path}) -> ${show(output)}`;
        case 'write':
          return `write(${path}, ${show(input.contents)}) -> ${show(output)}`;
        case 'cas':
          return `cas(${path}, gen ${input.expected}, ${show(input.contents)}) -> ${show(output)}`;
      }
    },
  };
}

function fileStep<C>(file: FileState<C>, input: FileInput<unknown, C>, output: FileOutput<C> | Unknown): { ok: boolean; state: FileState<C> } {
  const written = (contents: C): FileState<C> => ({ contents, generation: file.generation + 1 });
  switch (input.op) {
    case 'read':
      return { ok: output === UNKNOWN || same(output, file), state: file };
    case 'write':
      return { ok: output === UNKNOWN || output === undefined || output === file.generation + 1, state: written(input.contents) };
    case 'cas': {
      const swaps = input.expected === file.generation;
      if (output !== UNKNOWN && (swaps ? output !== file.generation + 1 : output !== false)) return { ok: false, state: file };
      return { ok: true, state: swaps ? written(input.contents) : file };
    }
  }
}
