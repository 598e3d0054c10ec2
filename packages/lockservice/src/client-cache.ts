import type { CachedFile } from './local-view.ts';

/** Files whose contents a session caches at most; the oldest goes first. */
export const MAX_CACHED_FILES = 10_000;

/**
 * A copy of a file on its way from the master (a read's answer, or a write's own value): kept
 * when it arrives only if nothing changed the file meanwhile (`stale`).
 */
export interface Incoming {
  readonly path: string;
  /** The value of the client's own write, or else a read's answer. */
  readonly write: boolean;
  stale: boolean;
}

/**
 * A session's write-through cache of file contents and stat, by path. A copy the master sent
 * before the client's own write of the file, or before an invalidation or a flush, may be older
 * than what the client was told since: such a copy is marked stale while on its way, and not kept.
 * So is a read's answer asked for while the client's own write of the file is under way: the
 * master may have read the file before that write applied, and the write invalidates no cache of
 * its own session.
 */
export class ClientCache {
  private readonly files = new Map<string, CachedFile>();
  /** Copies on their way, per path (as many as the session's calls in flight). */
  private readonly incoming = new Map<string, Set<Incoming>>();

  get size(): number {
    return this.files.size;
  }

  get(path: string): CachedFile | undefined {
    return this.files.get(path);
  }

  /** A copy of `path` is asked for (`write`: the client's own write's): `arrived` keeps it unless the file changed before then. */
  expect(path: string, write = false): Incoming {
    let set = this.incoming.get(path);
    if (!set) this.incoming.set(path, (set = new Set()));
    const copy: Incoming = { path, write, stale: !write && [...set].some((c) => c.write) };
    set.add(copy);
    return copy;
  }

  /** The copy arrived (`value` undefined: not cacheable, or an error). Past MAX_CACHED_FILES the oldest copy goes. */
  arrived(copy: Incoming, value: CachedFile | undefined): void {
    const set = this.incoming.get(copy.path);
    set?.delete(copy);
    if (set?.size === 0) this.incoming.delete(copy.path);
    if (value === undefined || copy.stale) return;
    this.files.delete(copy.path);
    if (this.files.size >= MAX_CACHED_FILES) this.files.delete(this.files.keys().next().value!);
    this.files.set(copy.path, value);
  }

  /** The client's own write of `path` is under way, or the master's invalidation of it arrived. */
  forget(path: string): void {
    this.files.delete(path);
    for (const copy of this.incoming.get(path) ?? []) copy.stale = true;
  }

  flush(): void {
    this.files.clear();
    for (const set of this.incoming.values()) for (const copy of set) copy.stale = true;
  }
}
