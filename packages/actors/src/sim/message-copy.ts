import { roundTrip } from '../codec.ts';
import { MAX_MESSAGE_DEPTH } from '../message-shape.ts';
import { ActorRef } from '../ref.ts';

/** Why a simulated send cannot carry a body, as the thread transport would refuse it. */
export const NOT_SERIALIZABLE: unique symbol = Symbol('not-serializable');
export const OVERSIZE: unique symbol = Symbol('oversize');
export type Refusal = typeof NOT_SERIALIZABLE | typeof OVERSIZE;

/**
 * What a receiver on another thread would get: a deep copy equal to the codec's round trip
 * (msgpack encode and decode), or why the codec refuses the body. The common case, a body that
 * follows the message rule (see message-shape.ts), is copied by a structural walk without
 * encoding; anything else takes the round trip itself, so it comes out (or fails) exactly as it
 * does across threads. `maxBytes` bounds the encoded size.
 */
export function copyAsSent(body: unknown, maxBytes: number): unknown {
  size = 0;
  const copy = copyValue(body, 0);
  if (copy !== OFF_RULE && size <= maxBytes) return copy;
  let sent: { copy: unknown; bytes: number };
  try {
    sent = roundTrip(body);
  } catch {
    return NOT_SERIALIZABLE;
  }
  return sent.bytes > maxBytes ? OVERSIZE : sent.copy;
}

export function isRefusal(v: unknown): v is Refusal {
  return v === NOT_SERIALIZABLE || v === OVERSIZE;
}

/** The walk met what it does not copy exactly as the codec would: the round trip decides. */
const OFF_RULE: unique symbol = Symbol('off-rule');
const MIN_I64 = -(2n ** 63n);
const MAX_U64 = 2n ** 64n - 1n;
// Globals read once: under a vm context (jest's) each lookup of a global goes through the context's interceptors.
const OBJECT_PROTO = Object.prototype;
const { getPrototypeOf } = Object;
const { isArray } = Array;
const Bytes = Uint8Array;
const DateClass = Date;

/** An upper bound of the msgpack size of what the walk has copied so far. */
let size = 0;

interface WellFormed {
  isWellFormed(): boolean;
}

/** msgpack writes a lone surrogate as U+FFFD; such strings take the round trip. */
function exactString(s: string): boolean {
  size += 5 + 3 * s.length;
  return (s as unknown as WellFormed).isWellFormed();
}

function copyValue(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
      return exactString(v) ? v : OFF_RULE;
    case 'boolean':
      size += 1;
      return v;
    case 'undefined':
      size += 3;
      return v;
    case 'number':
      size += 9;
      return v !== 0 || 1 / v > 0 ? v : OFF_RULE; // -0 would arrive as 0
    case 'bigint':
      size += 9;
      return v >= MIN_I64 && v <= MAX_U64 ? v : OFF_RULE;
    case 'object':
      break;
    default:
      return OFF_RULE;
  }
  if (v === null) {
    size += 1;
    return v;
  }
  if (depth >= MAX_MESSAGE_DEPTH) return OFF_RULE;
  const proto: unknown = getPrototypeOf(v);
  if (proto === OBJECT_PROTO || proto === null) {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    size += 5;
    for (const k in o) {
      if (k === '__proto__' || !exactString(k)) return OFF_RULE; // msgpackr renames the key
      const c = copyValue(o[k], depth + 1);
      if (c === OFF_RULE) return OFF_RULE;
      out[k] = c;
    }
    return out;
  }
  if (isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    size += 5;
    for (let i = 0; i < n; i++) {
      const c = copyValue(v[i], depth + 1);
      if (c === OFF_RULE) return OFF_RULE;
      out[i] = c;
    }
    return out;
  }
  if (v instanceof Bytes) {
    size += 5 + v.length;
    return new Bytes(v); // a Buffer arrives as a plain Uint8Array
  }
  if (v instanceof ActorRef) {
    size += 7;
    return exactString(v.node) && exactString(v.id) ? new ActorRef(v.node, v.id) : OFF_RULE;
  }
  if (v instanceof DateClass) {
    size += 15;
    return new DateClass(v.getTime());
  }
  return OFF_RULE;
}
