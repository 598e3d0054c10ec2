/**
 * An upper bound on the msgpack size of a value, in bytes, cheap enough for the propose path:
 * batches, catch-up replies and snapshots are cut to stay far below the transport's message limit
 * (16 MiB by default), since a message over it is never delivered and a slot or reply that can
 * never be delivered stalls the group. Each header is counted at its largest (5 bytes), a number
 * at 9, a Date at 15 (a timestamp extension). It walks keys with for-in, as the encoder does (a
 * message is plain data, so these are its own keys), and allocates nothing.
 */
export function approxBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 5 + utf8Bytes(value);
    case 'number':
    case 'bigint':
      return 9;
    case 'object': {
      if (value === null) return 1;
      if (Array.isArray(value)) {
        let n = 5;
        for (let i = 0; i < value.length; i++) n += approxBytes(value[i]);
        return n;
      }
      if (ArrayBuffer.isView(value)) return 5 + value.byteLength;
      if (value instanceof Date) return 15;
      const o = value as Record<string, unknown>;
      let n = 5;
      for (const k in o) n += 5 + utf8Bytes(k) + approxBytes(o[k]);
      return n;
    }
    default:
      return 1;
  }
}

/** Strings up to this long are measured in JS; longer ones by Buffer.byteLength. */
const SHORT_STRING = 32;

/**
 * A string's UTF-8 length, or more: a short one (most keys and names) is measured here, which
 * costs less than a call into Buffer.byteLength; each half of a surrogate pair counts 3 bytes
 * (the pair takes 4).
 */
function utf8Bytes(s: string): number {
  if (s.length > SHORT_STRING) return Buffer.byteLength(s, 'utf8');
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 ? 2 : 1;
  }
  return n;
}

/** The longest prefix of items whose sizes add up to at most budget bytes, but at least one item. */
export function takeWithin<T>(items: readonly T[], budget: number, size: (item: T) => number): T[] {
  let used = 0;
  let n = 0;
  while (n < items.length) {
    used += size(items[n]!);
    if (n > 0 && used > budget) break;
    n++;
  }
  return items.slice(0, n);
}

/** Items cut into consecutive pieces whose sizes add up to about budget bytes each (at least one item per piece). */
export function* piecesWithin<T>(items: Iterable<T>, budget: number, size: (item: T) => number = approxBytes): Iterable<T[]> {
  let piece: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (piece.length > 0 && bytes + n > budget) {
      yield piece;
      piece = [];
      bytes = 0;
    }
    piece.push(item);
    bytes += n;
  }
  if (piece.length > 0) yield piece;
}
