import { ActorRef } from './ref.ts';

/**
 * The one rule for what a message may carry, on every path (same thread, across threads, in the
 * simulator): plain objects, arrays, strings, booleans, null, undefined, numbers (not -0, which
 * the wire cannot tell from 0), bigints within 64 bits, Dates (to the millisecond), Uint8Arrays
 * (a Buffer arrives as a Uint8Array across threads) and ActorRefs. Anything else (a function, a
 * Map or Set, another typed array, an Error, a class instance) would change or vanish on the way,
 * so the send fails with an error naming where in the message it sits. A message is handed over:
 * on the same thread the receiver sees the sender's objects, so the sender must not change them.
 * The whole rule is checked wherever a message is encoded (to another thread or process), comes
 * from outside the actors (the system's and the simulator's tell and ask), is an ask or a reply,
 * and, in the simulator, on every path; a real node checks an actor's same-thread tell only for
 * its `type` unless `checkSameThreadMessages` is set, since nothing there could change it.
 */
export class UnsendableError extends TypeError {
  override readonly name = 'UnsendableError';
  constructor(
    /** Where in the message: `msg.items[2].when`. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`cannot send: ${path} ${problem} (a message carries plain objects, arrays, strings, numbers, booleans, null, undefined, 64-bit bigints, Dates, Uint8Arrays and ActorRefs)`);
  }
}

/** Deeper than this is refused (a cycle ends here too). */
export const MAX_MESSAGE_DEPTH = 64;
const MIN_I64 = -(2n ** 63n);
const MAX_U64 = 2n ** 64n - 1n;
const OBJECT_PROTO = Object.prototype;

/** Throws UnsendableError unless msg is an object with a string `type` that follows the rule. */
export function checkMessage(msg: unknown): void {
  checkEnvelope(msg);
  if (!carried(msg, 0)) throw explain(msg, 'msg', 0);
}

/**
 * Throws UnsendableError unless msg is an object with a string `type`; what it carries is not
 * walked. Enough where the receiver gets the sender's own objects (the same thread), where the
 * walk would cost about a third of the send.
 */
export function checkEnvelope(msg: unknown): void {
  if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') {
    const problem = typeof msg === 'object' && msg !== null ? 'has no string `type`' : `is ${describe(msg)}, not an object with a string \`type\``;
    throw new UnsendableError('msg', problem);
  }
}

/** Throws UnsendableError unless value (a reply, say) follows the rule. */
export function checkValue(value: unknown, what: string): void {
  if (!carried(value, 0)) throw explain(value, what, 0);
}

/** The fast path: a structural walk that allocates nothing. */
function carried(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return v !== 0 || 1 / v > 0;
    case 'bigint':
      return v >= MIN_I64 && v <= MAX_U64;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth >= MAX_MESSAGE_DEPTH) return false;
  if (isPlain(v)) {
    const o = v as Record<string, unknown>;
    for (const k in o) if (!carried(o[k], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!carried(v[i], depth + 1)) return false;
    return true;
  }
  return v instanceof Uint8Array || v instanceof ActorRef || v instanceof Date;
}

function isPlain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === OBJECT_PROTO || proto === null;
}

/** The slow path, once the fast one failed: finds the first offending value and names its path. */
function explain(v: unknown, path: string, depth: number): UnsendableError {
  return find(v, path, depth) ?? new UnsendableError(path, 'cannot be carried');
}

function find(v: unknown, path: string, depth: number): UnsendableError | undefined {
  if (typeof v !== 'object' || v === null) return carried(v, 0) ? undefined : new UnsendableError(path, problemOf(v));
  if (v instanceof Uint8Array || v instanceof ActorRef || v instanceof Date) return undefined;
  if (depth >= MAX_MESSAGE_DEPTH) return new UnsendableError(path, `is nested deeper than ${MAX_MESSAGE_DEPTH} levels (a cycle?)`);
  if (isPlain(v)) {
    for (const k in v) {
      const e = find((v as Record<string, unknown>)[k], `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`, depth + 1);
      if (e) return e;
    }
    return undefined;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = find(v[i], `${path}[${i}]`, depth + 1);
      if (e) return e;
    }
    return undefined;
  }
  return new UnsendableError(path, problemOf(v));
}

function problemOf(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return 'is -0 (it would arrive as 0)';
    case 'bigint':
      return 'is a bigint outside 64 bits';
    case 'function':
      return 'is a function';
    case 'symbol':
      return 'is a symbol';
    default:
      return `is ${describe(v)}`;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return `a ${typeof v}`;
  if (v instanceof Error) return `an Error (${v.name}); send its message as a string`;
  if (v instanceof Map) return 'a Map; send an array of entries or a plain object';
  if (v instanceof Set) return 'a Set; send an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} (only Uint8Array binaries are carried)`;
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer; wrap it in a Uint8Array';
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return name ? `an instance of class ${name} (classes do not cross threads)` : 'an object that is not plain data';
}
