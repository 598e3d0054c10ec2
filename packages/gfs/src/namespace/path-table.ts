import { ROOT } from './path.ts';

/** Keys of one block at most; a full block splits in two, an empty one is dropped. */
const BLOCK_KEYS = 512;

/**
 * The namespace's lookup table: full path -> value, with no per-directory structure (as in the
 * paper). Paths are kept in an ordered index of sort keys in which '/' becomes NUL (which no
 * name holds), so a directory's whole subtree is one contiguous range right after it, and
 * listing a directory or walking a subtree is a range scan. The index is a list of sorted
 * blocks (a flat B-tree): lookup, insert and delete cost O(log n + BLOCK_KEYS).
 */
export class PathTable<V> {
  private readonly values = new Map<string, V>();
  private blocks: string[][] = [];

  get size(): number {
    return this.values.size;
  }

  get(path: string): V | undefined {
    return this.values.get(path);
  }

  has(path: string): boolean {
    return this.values.has(path);
  }

  set(path: string, value: V): void {
    if (!this.values.has(path)) this.insertKey(sortKey(path));
    this.values.set(path, value);
  }

  delete(path: string): boolean {
    if (!this.values.delete(path)) return false;
    this.removeKey(sortKey(path));
    return true;
  }

  /** Every entry in depth-first order (a directory before its subtree). */
  *entries(): IterableIterator<[string, V]> {
    for (const block of this.blocks) for (const key of block) yield [pathOf(key), this.values.get(pathOf(key))!];
  }

  /** The entries strictly below `dir`, depth-first. */
  *subtree(dir: string): IterableIterator<[string, V]> {
    const lo = subtreeStart(dir);
    const hi = subtreeEnd(dir);
    for (let c = this.seek(lo); c !== undefined; c = this.next(c)) {
      const key = this.blocks[c.block]![c.index]!;
      if (key >= hi) return;
      const path = pathOf(key);
      yield [path, this.values.get(path)!];
    }
  }

  /** The direct children of `dir` (names, in order), skipping each child's own subtree. */
  *children(dir: string): IterableIterator<[string, V]> {
    const lo = subtreeStart(dir);
    const hi = subtreeEnd(dir);
    let c = this.seek(lo);
    while (c !== undefined) {
      const key = this.blocks[c.block]![c.index]!;
      if (key >= hi) return;
      const path = pathOf(key);
      yield [path, this.values.get(path)!];
      c = this.seek(subtreeEnd(path));
    }
  }

  private insertKey(key: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      return;
    }
    const b = this.blockFor(key);
    const block = this.blocks[b]!;
    block.splice(lowerBound(block, key), 0, key);
    if (block.length > BLOCK_KEYS) this.blocks.splice(b, 1, block.slice(0, BLOCK_KEYS / 2), block.slice(BLOCK_KEYS / 2));
  }

  private removeKey(key: string): void {
    const b = this.blockFor(key);
    const block = this.blocks[b]!;
    block.splice(lowerBound(block, key), 1);
    if (block.length === 0) this.blocks.splice(b, 1);
  }

  /** The block a key belongs in: the first whose last key is >= key, else the last block. */
  private blockFor(key: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = this.blocks[mid]!;
      if (block[block.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The position of the first key >= key, or undefined past the end. */
  private seek(key: string): Cursor | undefined {
    if (this.blocks.length === 0) return undefined;
    const block = this.blockFor(key);
    const index = lowerBound(this.blocks[block]!, key);
    return index < this.blocks[block]!.length ? { block, index } : undefined;
  }

  private next(c: Cursor): Cursor | undefined {
    if (c.index + 1 < this.blocks[c.block]!.length) return { block: c.block, index: c.index + 1 };
    return c.block + 1 < this.blocks.length ? { block: c.block + 1, index: 0 } : undefined;
  }
}

interface Cursor {
  block: number;
  index: number;
}

function sortKey(path: string): string {
  return path === ROOT ? '' : path.replaceAll('/', '\u0000');
}

function pathOf(key: string): string {
  return key === '' ? ROOT : key.replaceAll('\u0000', '/');
}

function subtreeStart(dir: string): string {
  return `${sortKey(dir)}\u0000`;
}

function subtreeEnd(dir: string): string {
  return `${sortKey(dir)}\u0001`;
}

function lowerBound(block: readonly string[], key: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (block[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
