/** Helpers for testing the linearizability checker and its models against an exhaustive search. */
import { UNKNOWN } from '../src/testing/linearizability.ts';
import type { Model, Operation } from '../src/testing/linearizability.ts';

/** Exhaustive search over all orders; only for tiny histories. */
export function bruteForce<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean {
  const used = ops.map(() => false);
  const go = (state: S): boolean => {
    if (ops.every((op, i) => used[i] || op.ret === Infinity)) return true;
    return ops.some((op, i) => {
      if (used[i] || ops.some((o, j) => !used[j] && j !== i && o.ret < op.call)) return false;
      const next = model.step(state, op.input, op.ret === Infinity ? UNKNOWN : op.output);
      if (!next.ok) return false;
      used[i] = true;
      const found = go(next.state);
      used[i] = false;
      return found;
    });
  };
  return go(model.init());
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

