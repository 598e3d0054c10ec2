import { describe, expect, it } from '@jest/globals';
import {
  UNKNOWN,
  checkEvents,
  checkOperations,
  historyRecorder,
  operationsFromEvents,
} from '../src/testing/linearizability.ts';
import type { Event, LinearizabilityResult, Model, Operation } from '../src/testing/linearizability.ts';
import { kvModel, registerModel } from '../src/testing/models.ts';
import type { KvInput, KvOutput, RegisterInput, RegisterOutput } from '../src/testing/models.ts';
import { bruteForce, mulberry32 } from './brute-force.ts';

type RIn = RegisterInput<number>;
type ROut = RegisterOutput<number>;
type ROp = Operation<RIn, ROut>;

const register = registerModel(0);
/** The search-step budget of the large-history claims: about 4x what they take here (259k steps to linearize the crashed history, 1.3M to find its violation), far below what trying pending reads would. */
const STEPS = 5_000_000;

const read = (clientId: number, output: number, call: number, ret: number): ROp => ({
  clientId,
  input: { op: 'read' },
  output,
  call,
  ret,
});
const write = (clientId: number, value: number, call: number, ret: number): ROp => ({
  clientId,
  input: { op: 'write', value },
  output: undefined,
  call,
  ret,
});
const cas = (clientId: number, expected: number, value: number, output: boolean, call: number, ret: number): ROp => ({
  clientId,
  input: { op: 'cas', expected, value },
  output,
  call,
  ret,
});
const pending = (op: ROp): ROp => ({ ...op, output: UNKNOWN, ret: Infinity });

/** Independent check of a claimed linearization: complete, real-time ordered, legal. */
function expectValidLinearization<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], order: Operation<I, O>[]) {
  const problems: string[] = [];
  const placed = new Set(order);
  if (placed.size !== order.length) problems.push('an operation appears twice');
  ops.forEach((op, i) => {
    if (op.ret !== Infinity && !placed.has(op)) problems.push(`operation #${i} is missing`);
  });
  // Real-time order: nothing placed later may have returned before an earlier one was called.
  let earliestLaterReturn = Infinity;
  for (let i = order.length - 1; i >= 0; i--) {
    if (earliestLaterReturn < order[i]!.call) problems.push(`position ${i} is called after a later one returned`);
    earliestLaterReturn = Math.min(earliestLaterReturn, order[i]!.ret);
  }
  let state = model.init();
  order.forEach((op, i) => {
    const next = model.step(state, op.input, op.ret === Infinity ? UNKNOWN : op.output);
    if (!next.ok) problems.push(`position ${i} is illegal`);
    state = next.state;
  });
  expect(problems).toEqual([]);
}

function expectOk<I, O>(result: LinearizabilityResult<I, O>): Operation<I, O>[][] {
  if (result.ok !== true) throw new Error(`expected linearizable, got ${result.ok}: ${result.reason}`);
  return result.linearizations;
}

function expectViolation<I, O>(result: LinearizabilityResult<I, O>) {
  if (result.ok !== false) throw new Error(`expected a violation, got ${String(result.ok)}`);
  return result;
}

/**
 * A history of a real linearizable register: each client runs operations back to back, and
 * each operation takes effect at a random instant between its call and return. With
 * `distinctValues`, every write/cas writes a fresh value; otherwise values come from 0..4.
 */
function simulateRegister(seed: number, clients: number, total: number, distinctValues: boolean): ROp[] {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  let fresh = 0;
  const value = () => (distinctValues ? ++fresh : int(5));
  const sims: { op: ROp; effect: number }[] = [];
  for (let c = 0; c < clients; c++) {
    let t = rand() * 10;
    for (let k = 0; k < total / clients; k++) {
      const call = t;
      const ret = call + 1 + rand() * 40;
      const effect = call + rand() * (ret - call);
      const r = rand();
      const input: RIn =
        r < 0.5 ? { op: 'read' } : r < 0.85 ? { op: 'write', value: value() } : { op: 'cas', expected: int(5), value: value() };
      sims.push({ op: { clientId: c, input, output: undefined, call, ret }, effect });
      t = ret + rand() * 5;
    }
  }
  let state = 0;
  for (const { op } of sims.sort((a, b) => a.effect - b.effect)) {
    if (op.input.op === 'read') op.output = state;
    else if (op.input.op === 'write') state = op.input.value;
    else {
      op.output = state === op.input.expected;
      if (op.output) state = op.input.value;
    }
  }
  return sims.map((s) => s.op).sort((a, b) => a.call - b.call);
}

describe('linearizability checker: register (Herlihy & Wing examples)', () => {
  it('accepts a sequential history and returns its order', () => {
    const ops = [write(0, 1, 0, 1), read(1, 1, 2, 3), write(1, 2, 4, 5), read(0, 2, 6, 7)];
    expect(expectOk(checkOperations(register, ops))).toEqual([ops]);
  });

  it('rejects a read of a value overwritten before the read started', () => {
    const stale = read(2, 1, 4, 5);
    const ops = [write(0, 1, 0, 1), write(1, 2, 2, 3), stale];
    const result = expectViolation(checkOperations(register, ops));
    expect(result.failed).toBe(stale);
    expect(result.prefix).toEqual([ops[0], ops[1]]);
    expect(result.reason).toContain('client 2 read() -> 1 [call 4, ret 5] cannot be linearized');
    expect(result.reason).toContain('Longest linearizable prefix: 2 operation(s), ending in state 2');
    expect(result.reason).toContain('illegal in this state');
  });

  it('accepts a read overlapping a write that sees either the old or the new value', () => {
    for (const seen of [0, 1]) {
      const ops = [write(0, 1, 0, 10), read(1, seen, 2, 5)];
      const [order] = expectOk(checkOperations(register, ops));
      expectValidLinearization(register, ops, order!);
    }
  });

  it('rejects two reads overlapping a write that see the new value, then the old', () => {
    const ops = [write(0, 1, 0, 10), read(1, 1, 1, 2), read(2, 0, 3, 4)];
    expect(expectViolation(checkOperations(register, ops)).failed).toBe(ops[2]);
    // The other way round is fine: the write takes effect between the reads.
    const flipped = [write(0, 1, 0, 10), read(1, 0, 1, 2), read(2, 1, 3, 4)];
    expect(expectOk(checkOperations(register, flipped))[0]).toEqual([flipped[1], flipped[0], flipped[2]]);
  });

  it('rejects a read of a value that was never written', () => {
    expect(checkOperations(register, [write(0, 1, 0, 1), read(1, 7, 0, 3)]).ok).toBe(false);
  });
});

describe('linearizability checker: pending (crashed) operations', () => {
  it('assumes a pending write took effect when a later read needs it', () => {
    const crashed = pending(write(0, 5, 0, 0));
    const ops = [crashed, read(1, 5, 3, 4), read(2, 5, 6, 7)];
    const [order] = expectOk(checkOperations(register, ops));
    expect(order).toEqual([crashed, ops[1], ops[2]]);
  });

  it('may also assume a pending write never took effect', () => {
    const ops = [pending(write(0, 5, 0, 0)), read(1, 0, 3, 4)];
    expect(expectOk(checkOperations(register, ops))).toEqual([[ops[1]]]);
  });

  it('rejects a read that only a pending write invoked after it returned could explain', () => {
    const ops = [read(1, 5, 0, 2), pending(write(0, 5, 3, 3))];
    expect(expectViolation(checkOperations(register, ops)).failed).toBe(ops[0]);
  });

  it('rejects a pending write taking effect between two reads of the old value and back', () => {
    // 5 is seen, then 0 again: only one write of 5 exists and nothing writes 0 back.
    const ops = [pending(write(0, 5, 0, 0)), read(1, 5, 1, 2), read(2, 0, 3, 4)];
    expect(expectViolation(checkOperations(register, ops)).failed).toBe(ops[2]);
  });
});

describe('linearizability checker: compare-and-set register', () => {
  it('accepts one winner among concurrent cas', () => {
    const ops = [cas(0, 0, 1, true, 0, 5), cas(1, 0, 2, false, 1, 6), read(2, 1, 7, 8)];
    const [order] = expectOk(checkOperations(register, ops));
    expectValidLinearization(register, ops, order!);
  });

  it('rejects two winners of cas(0 -> x)', () => {
    const ops = [cas(0, 0, 1, true, 0, 5), cas(1, 0, 2, true, 1, 6)];
    expect(checkOperations(register, ops).ok).toBe(false);
  });

  it('rejects a cas that failed although the value matched', () => {
    expect(checkOperations(register, [write(0, 3, 0, 1), cas(0, 3, 4, false, 2, 3)]).ok).toBe(false);
  });

  it('lets a pending cas swap only if the value matched', () => {
    expect(checkOperations(register, [pending(cas(0, 0, 9, true, 0, 0)), read(1, 9, 2, 3)]).ok).toBe(true);
    expect(checkOperations(register, [pending(cas(0, 1, 9, true, 0, 0)), read(1, 9, 2, 3)]).ok).toBe(false);
  });
});

describe('linearizability checker: key-value model', () => {
  type KOp = Operation<KvInput<string, number | null>, KvOutput<number | null>>;
  const kv = kvModel<string, number | null>(null);
  const get = (clientId: number, key: string, output: number | null, call: number, ret: number): KOp => ({
    clientId,
    input: { op: 'get', key },
    output,
    call,
    ret,
  });
  const put = (clientId: number, key: string, value: number, call: number, ret: number): KOp => ({
    clientId,
    input: { op: 'put', key, value },
    output: undefined,
    call,
    ret,
  });

  it('checks each key on its own and finds the violation on one key', () => {
    const ops = [
      put(0, 'a', 1, 0, 2),
      put(1, 'b', 1, 1, 3),
      get(2, 'a', 1, 4, 5),
      put(0, 'b', 2, 6, 7),
      get(1, 'b', 1, 8, 9), // stale: b was overwritten with 2 before this read began
      get(2, 'a', 1, 10, 11),
    ];
    const result = expectViolation(checkOperations(kv, ops));
    expect(result.failed).toBe(ops[4]);
    expect(result.reason).toContain('(in partition 2 of 2)');
    expect(result.reason).toContain('get("b") -> 1');
    expect(result.prefix.every((op) => op.input.key === 'b')).toBe(true);

    const fixed = ops.map((op) => (op === ops[4] ? { ...op, output: 2 } : op));
    const orders = expectOk(checkOperations(kv, fixed));
    expect(orders.map((order) => order.map((op) => op.input.key))).toEqual([['a', 'a', 'a'], ['b', 'b', 'b']]);
  });

  it('supports cas and reads missing keys as the given default', () => {
    const ops: KOp[] = [
      get(0, 'x', null, 0, 1),
      { clientId: 1, input: { op: 'cas', key: 'x', expected: null, value: 3 }, output: true, call: 2, ret: 3 },
      get(0, 'x', 3, 4, 5),
    ];
    expect(checkOperations(kv, ops).ok).toBe(true);
    expect(checkOperations(kv, ops.map((op) => (op === ops[0] ? { ...op, output: 0 } : op))).ok).toBe(false);
  });

  it('gives the same verdicts with and without partitioning (locality)', () => {
    const rand = mulberry32(7);
    const int = (n: number) => Math.floor(rand() * n);
    const whole: typeof kv = { ...kv, partition: undefined };
    const verdicts = { ok: 0, bad: 0 };
    for (let round = 0; round < 300; round++) {
      const ops: KOp[] = [];
      for (let c = 0; c < 3; c++) {
        let t = int(3);
        for (let k = 0; k < 2; k++) {
          const key = 'ab'[int(2)]!;
          const call = t;
          const ret = call + int(4);
          ops.push(rand() < 0.5 ? get(c, key, [null, 1, 2][int(3)]!, call, ret) : put(c, key, 1 + int(2), call, ret));
          t = ret + 1 + int(2);
        }
      }
      const partitioned = checkOperations(kv, ops).ok;
      expect(checkOperations(whole, ops).ok).toBe(partitioned);
      expect(bruteForce(whole, ops)).toBe(partitioned);
      verdicts[partitioned ? 'ok' : 'bad']++;
    }
    expect(verdicts.ok).toBeGreaterThan(30);
    expect(verdicts.bad).toBeGreaterThan(30);
  });
});

describe('linearizability checker: agrees with brute force', () => {
  it('on 3,000 random small register histories with pending operations', () => {
    const rand = mulberry32(42);
    const int = (n: number) => Math.floor(rand() * n);
    const verdicts = { ok: 0, bad: 0 };
    for (let round = 0; round < 3000; round++) {
      const ops: ROp[] = [];
      for (let c = 0; c < 3; c++) {
        let t = int(4);
        for (let k = 0, n = 1 + int(3); k < n; k++) {
          const call = t;
          const ret = call + int(5);
          const r = rand();
          let op = r < 0.45 ? read(c, int(3), call, ret) : r < 0.85 ? write(c, int(3), call, ret) : cas(c, int(3), int(3), rand() < 0.5, call, ret);
          if (k === n - 1 && rand() < 0.2) op = pending(op);
          ops.push(op);
          t = ret + 1 + int(2);
        }
      }
      const result = checkOperations(register, ops);
      expect(result.ok).toBe(bruteForce(register, ops));
      if (result.ok === true) expectValidLinearization(register, ops, result.linearizations[0]!);
      verdicts[result.ok === true ? 'ok' : 'bad']++;
    }
    expect(verdicts.ok).toBeGreaterThan(300);
    expect(verdicts.bad).toBeGreaterThan(300);
  });
});

describe('linearizability checker: large histories', () => {
  const history = simulateRegister(2024, 8, 1000, false);

  it('checks 1,000 operations from 8 clients (its speed is measured by `pnpm bench sim`)', () => {
    expect(history).toHaveLength(1000);
    // The history really is concurrent: most operations overlap another client's.
    const overlapping = history.filter((a) => history.some((b) => b.clientId !== a.clientId && b.call < a.ret && a.call < b.ret));
    expect(overlapping.length).toBeGreaterThan(900);
    const result = checkOperations(register, history);
    const [order] = expectOk(result);
    expectValidLinearization(register, history, order!);
  });

  it('rejects the same history with one read corrupted to an impossible value', () => {
    const victim = history.filter((op) => op.input.op === 'read')[250]!;
    const corrupted = history.map((op) => (op === victim ? { ...op, output: -1 } : op));
    const result = expectViolation(checkOperations(register, corrupted));
    expect(result.failed).toEqual({ ...victim, output: -1 });
    expect(result.reason).toContain(`read() -> -1 [call ${victim.call}, ret ${victim.ret}] cannot be linearized`);
  });

  it('rejects a history with one read returning a value overwritten before it began', () => {
    const ops = simulateRegister(99, 8, 1000, true);
    const writes = ops.filter((op) => op.input.op === 'write');
    // A read in the middle, and a write W followed (in real time) by a write W2, both before the read.
    const victim = ops.filter((op) => op.input.op === 'read')[250]!;
    const w = writes.find((a) => writes.some((b) => a.ret < b.call && b.ret < victim.call))!;
    expect(w).toBeDefined();
    const value = (w.input as { value: number }).value;
    expect(checkOperations(register, ops).ok).toBe(true);
    const corrupted = ops.map((op) => (op === victim ? { ...op, output: value } : op));
    expect(checkOperations(register, corrupted).ok).toBe(false);
  });

  it('stays fast when many reads crashed (pending reads without effect are never tried)', () => {
    const victim = history.filter((op) => op.input.op === 'read')[250]!;
    const spared = history.indexOf(victim);
    const crashReads = (ops: ROp[]) =>
      ops.map((op, i) => (i % 3 === 0 && op.input.op === 'read' && i !== spared ? pending(op) : op));
    const crashed = crashReads(history);
    expect(crashed.filter((op) => op.ret === Infinity).length).toBeGreaterThan(100);
    // A step budget, not a time limit: the claim holds however loaded the machine is.
    expect(checkOperations(register, crashed, { maxSteps: STEPS }).ok).toBe(true);
    const corrupted = crashReads(history.map((op) => (op === victim ? { ...op, output: -1 } : op)));
    const result = expectViolation(checkOperations(register, corrupted, { maxSteps: STEPS }));
    expect(result.failed.output).toBe(-1);
  });

  it('gives up with ok: unknown when its step budget is spent', () => {
    expect(checkOperations(register, history, { maxSteps: 10 })).toEqual({ ok: 'unknown', reason: 'steps' });
  });

  it('gives up with ok: unknown on timeout', () => {
    expect(checkOperations(register, history, { timeoutMs: 0 })).toEqual({ ok: 'unknown', reason: 'timeout' });
  });
});

describe('event histories', () => {
  it('pairs invocations with returns by client', () => {
    const events: Event<RIn, ROut>[] = [
      { kind: 'invoke', clientId: 'a', input: { op: 'write', value: 1 } },
      { kind: 'invoke', clientId: 'b', input: { op: 'read' } },
      { kind: 'return', clientId: 'b', output: 1 },
      { kind: 'invoke', clientId: 'b', input: { op: 'read' } },
      { kind: 'return', clientId: 'b', output: 0 }, // new, then old, while the write is still open
      { kind: 'return', clientId: 'a', output: undefined },
    ];
    const result = expectViolation(checkEvents(register, events));
    expect(result.failed).toEqual({ clientId: 'b', input: { op: 'read' }, output: 0, call: 3, ret: 4 });
    const swapped = events.map((e, i) => (i === 2 ? { ...e, output: 0 } : i === 4 ? { ...e, output: 1 } : e));
    expect(checkEvents(register, swapped).ok).toBe(true);
  });

  it('keeps info operations pending and drops failed ones', () => {
    const events: Event<RIn, ROut>[] = [
      { kind: 'invoke', clientId: 0, opId: 1, input: { op: 'write', value: 1 }, time: 0 },
      { kind: 'info', clientId: 0, opId: 1, time: 1 },
      { kind: 'invoke', clientId: 0, opId: 2, input: { op: 'write', value: 2 }, time: 2 },
      { kind: 'fail', clientId: 0, opId: 2, time: 3 },
      { kind: 'invoke', clientId: 1, input: { op: 'read' }, time: 4 },
      { kind: 'return', clientId: 1, output: 1, time: 5 },
    ];
    expect(operationsFromEvents(events)).toEqual([
      { clientId: 0, input: { op: 'write', value: 1 }, output: UNKNOWN, call: 0, ret: Infinity },
      { clientId: 1, input: { op: 'read' }, output: 1, call: 4, ret: 5 },
    ]);
    expect(checkEvents(register, events).ok).toBe(true);
    // The failed write of 2 cannot explain a read of 2.
    const readsTwo = events.map((e) => (e.kind === 'return' ? { ...e, output: 2 } : e));
    expect(checkEvents(register, readsTwo).ok).toBe(false);
  });
});

describe('malformed histories', () => {
  const inv = (clientId: number): Event<RIn, ROut> => ({ kind: 'invoke', clientId, input: { op: 'read' } });
  const ret = (clientId: number, opId?: number): Event<RIn, ROut> => ({ kind: 'return', clientId, output: 0, opId });

  it('throws on a return without an invoke', () => {
    expect(() => checkEvents(register, [inv(0), ret(0), ret(0)])).toThrow(/event #2 \(return from client 0\) has no matching invoke/);
    expect(() => checkEvents(register, [ret(1)])).toThrow(/no matching invoke/);
  });

  it('throws on two invokes from one client without a return', () => {
    expect(() => checkEvents(register, [inv(0), inv(1), inv(0)])).toThrow(/event #2 \(invoke from client 0\).*has not returned/);
  });

  it('throws on mismatched op ids, mixed or decreasing times', () => {
    expect(() => checkEvents(register, [{ ...inv(0), opId: 1 }, ret(0, 2)])).toThrow(/completes op 2/);
    expect(() => checkEvents(register, [{ ...inv(0), time: 1 }, ret(0)])).toThrow(/every event or no event/);
    expect(() => checkEvents(register, [{ ...inv(0), time: 5 }, { ...ret(0), time: 4 }])).toThrow(/before the previous/);
  });

  it('throws on operations that return before their call or overlap within a client', () => {
    expect(() => checkOperations(register, [read(0, 0, 5, 4)])).toThrow(/returns before it is called/);
    expect(() => checkOperations(register, [read(0, 0, 0, 5), read(0, 0, 3, 8)])).toThrow(/client 0 has overlapping operations/);
    expect(() => checkOperations(register, [{ ...read(0, 0, 0, 5), output: UNKNOWN }])).toThrow(/ret: Infinity/);
  });
});

describe('historyRecorder', () => {
  it('timestamps with a logical clock, drops failed and keeps info operations pending', () => {
    const h = historyRecorder<RIn, ROut>();
    const w = h.invoke(0, { op: 'write', value: 1 }); // t0
    const r = h.invoke(1, { op: 'read' }); // t1
    h.ok(r, 1); // t2
    h.info(w); // t3
    const w2 = h.invoke(0, { op: 'write', value: 2 }); // t4
    h.fail(w2); // t5
    h.invoke(1, { op: 'read' }); // t6, never completes
    expect(h.operations()).toEqual([
      { clientId: 0, input: { op: 'write', value: 1 }, output: UNKNOWN, call: 0, ret: Infinity },
      { clientId: 1, input: { op: 'read' }, output: 1, call: 1, ret: 2 },
      { clientId: 1, input: { op: 'read' }, output: UNKNOWN, call: 6, ret: Infinity },
    ]);
    expect(checkOperations(register, h.operations()).ok).toBe(true);
  });

  it('refuses a second outstanding operation per client and double completion', () => {
    const h = historyRecorder<RIn, ROut>();
    const id = h.invoke(0, { op: 'read' });
    expect(() => h.invoke(0, { op: 'read' })).toThrow(/still has operation 0 outstanding/);
    h.ok(id, 0);
    expect(() => h.ok(id, 0)).toThrow(/already completed/);
    expect(() => h.fail(42)).toThrow(/unknown operation id 42/);
  });
});
