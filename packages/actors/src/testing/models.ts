/**
 * Ready-made sequential models for the linearizability checker: a register and a key-value
 * map. Values are compared structurally (`structuralKey`), so they may be plain data.
 */
import { UNKNOWN, structuralKey } from './linearizability.ts';
import type { Model, Operation, Unknown } from './linearizability.ts';

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
    step(state, input, output) {
      const key = structuralKey(input.key);
      const current = state.has(key) ? (state.get(key) as V) : missing;
      const next = registerStep(current, asRegisterInput(input), output);
      if (!next.ok || next.state === current) return { ok: next.ok, state };
      return { ok: true, state: new Map(state).set(key, next.state) };
    },
    key: structuralKey,
    partition(ops) {
      const parts = new Map<string, Operation<KvInput<K, V>, KvOutput<V>>[]>();
      for (const op of ops) {
        const key = structuralKey(op.input.key);
        const part = parts.get(key);
        if (part) part.push(op);
        else parts.set(key, [op]);
      }
      return [...parts.values()];
    },
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
