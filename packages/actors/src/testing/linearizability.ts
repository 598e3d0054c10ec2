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

import { operationsFromEvents, validateOperations, type Event, type Operation, type Unknown } from './history.ts';
import { explain } from './linearizability-explain.ts';
import { search } from './linearizability-search.ts';

export { historyRecorder, operationsFromEvents, UNKNOWN, type ClientId, type Event, type HistoryRecorder, type Operation, type Unknown } from './history.ts';
export { describeOperation, structuralKey } from './linearizability-explain.ts';

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
