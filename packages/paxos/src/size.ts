/**
 * An upper bound on the msgpack size of a value, in bytes, cheap enough for the propose path:
 * batches, catch-up replies and snapshots are cut to stay far below the transport's message limit
 * (16 MiB by default), since a message over it is never delivered and a slot or reply that can
 * never be delivered stalls the group.
 */
export function approxBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 5 + Buffer.byteLength(value, 'utf8');
    case 'number':
    case 'bigint':
      return 9;
    case 'object': {
      if (value === null) return 1;
      if (ArrayBuffer.isView(value)) return 5 + value.byteLength;
      if (Array.isArray(value)) {
        let n = 5;
        for (const v of value) n += approxBytes(v);
        return n;
      }
      let n = 5;
      for (const [k, v] of Object.entries(value)) n += approxBytes(k) + approxBytes(v);
      return n;
    }
    default:
      return 1;
  }
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
