import type { Key } from './store.ts';

/**
 * LMDB's largest key in bytes (its build's default, which lmdb-js reports as maxKeySize). The
 * whole stored key counts: the actor's id and every part of its own key.
 */
export const MAX_KEY_BYTES = 1978;

/**
 * Throws a clear error unless `key` is a list of strings and finite numbers that LMDB can store.
 * Checked where a write or read is made, so a bad key fails the actor's turn instead of every
 * later commit of its node. Every store applies the same rule, so the simulator refuses what
 * LMDB would.
 */
export function checkKey(key: Key): void {
  let bytes = 0;
  for (let i = 0; i < key.length; i++) {
    const part: unknown = key[i];
    if (typeof part === 'string') bytes += stringPartBytes(part);
    else if (typeof part === 'number') {
      // NaN and ±Infinity would also collide with null in the overlay's JSON key strings.
      if (!Number.isFinite(part)) throw new TypeError(`storage key ${show(key)}: part ${i} is ${part}; a number part must be finite`);
      bytes += 9;
    } else {
      throw new TypeError(`storage key ${show(key)}: part ${i} is ${describe(part)}; a key part is a string or a finite number`);
    }
  }
  bytes += key.length - 1; // separators
  if (bytes > MAX_KEY_BYTES) {
    throw new RangeError(`storage key ${show(key)}: about ${bytes} bytes encoded, over LMDB's limit of ${MAX_KEY_BYTES} (the actor's id included)`);
  }
}

/**
 * An upper bound on a string part's size in lmdb-js's key encoding (ordered-binary): its UTF-8
 * bytes (an empty string takes one), and two more for each control character below 0x1c, which
 * it escapes. Checked against lmdb's own encoder on random keys: exact for keys without control
 * characters, over by a few bytes per such character.
 */
function stringPartBytes(s: string): number {
  let escapes = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x1c) escapes++;
  return Math.max(1, Buffer.byteLength(s)) + 2 * escapes;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** The key for an error message, long parts shortened. */
function show(key: Key): string {
  if (!Array.isArray(key)) return describe(key);
  const parts = (key as unknown[]).map((p) => (typeof p === 'string' && p.length > 40 ? `${p.slice(0, 20)}…(${p.length} chars)` : p));
  return JSON.stringify(
    parts,
    (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
  );
}
