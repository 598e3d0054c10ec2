import { UNKNOWN, type Operation } from './history.ts';
import type { Failure } from './linearizability-search.ts';
import type { Model } from './linearizability.ts';

/** Explanations of a failed check, and the canonical keys of states and values. */

const SHOWN = 10; // operations listed per section of an explanation

export function explain<S, I, O>(model: Model<S, I, O>, f: Failure<S, I, O>, where: string): string {
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

