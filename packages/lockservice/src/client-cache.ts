import type { CachedFile } from './local-view.ts';

/** Files whose contents a session caches at most; the oldest goes first. */
export const MAX_CACHED_FILES = 10_000;

/**
 * A session's write-through cache of file contents and stat, by path. `epoch` grows with every
 * invalidation and flush: a read that saw it change while in flight must not be cached.
 */
export class ClientCache {
  private readonly files = new Map<string, CachedFile>();
  epoch = 0;

  get size(): number {
    return this.files.size;
  }

  get(path: string): CachedFile | undefined {
    return this.files.get(path);
  }

  /** Keeps `value` as the newest copy of `path`; past MAX_CACHED_FILES the oldest copy goes. */
  remember(path: string, value: CachedFile): void {
    this.files.delete(path);
    if (this.files.size >= MAX_CACHED_FILES) this.files.delete(this.files.keys().next().value!);
    this.files.set(path, value);
  }

  /** The client's own write of `path` is under way: its old copy goes (no epoch change: that is for others' writes). */
  forget(path: string): void {
    this.files.delete(path);
  }

  /** The master's invalidation of `path`. */
  invalidate(path: string): void {
    this.files.delete(path);
    this.epoch++;
  }

  flush(): void {
    this.files.clear();
    this.epoch++;
  }
}
