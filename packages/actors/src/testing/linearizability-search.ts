import { UNKNOWN, type Operation } from './history.ts';
import { structuralKey } from './linearizability-explain.ts';
import type { Model } from './linearizability.ts';

interface Entry {
  readonly op: number; // index into the partition's operations; -1 for the list head
  readonly time: number;
  readonly isCall: boolean;
  /** A call's return entry; null for pending operations and for return entries. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

export interface Failure<S, I, O> {
  state: S;
  ops: { prefix: Operation<I, O>[]; failed: Operation<I, O>; candidates: Operation<I, O>[] };
}

/**
 * Wing & Gong's search with Lowe's improvements over one part of a history (see linearizability.ts):
 * a linearization, or the failure that explains why there is none, or why it gave up.
 */
export function search<S, I, O>(
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

