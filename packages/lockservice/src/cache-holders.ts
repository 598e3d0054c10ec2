/**
 * The master's record of who caches what, and the writes that wait for those copies to go, as a
 * core without I/O (the host passes the time, sends the invalidations and runs the writes it is
 * handed back). A write of a cached node is held until every other session caching it has
 * acknowledged its invalidation or its lease has run out (Chubby's rule: no cached copy is read
 * after a write is acknowledged), and, under a new master, until every session taken over has
 * flushed its cache or the old master's leases have run out.
 */
import type { SessionId } from './protocol.ts';

/** A write held for invalidations: `go` proposes it. */
interface HeldWrite {
  path: string;
  ids: Set<number>;
  /** Not before this (the holders' lease ends, and a new master's wait-out of the old one's leases). */
  deadline: number;
  go: () => void;
}

/** An invalidation to send to a session through its KeepAlive; it acknowledges `id`. */
export interface Invalidation {
  session: SessionId;
  id: number;
  path: string;
}

/** A write that waits for nothing. */
const NOTHING_HELD: { invalidations: readonly Invalidation[]; ready: boolean } = Object.freeze({ invalidations: Object.freeze([]), ready: true });

export class CacheHolders {
  private readonly cachers = new Map<string, Set<SessionId>>();
  private count = 0;
  /** Writes of each path under way (proposed or held): a read meanwhile is not cacheable. */
  private readonly writing = new Map<string, number>();
  private readonly held: HeldWrite[] = [];
  private nextId = 1;
  /** The sessions taken over that have not flushed their caches yet. */
  private readonly unflushed = new Set<SessionId>();

  /**
   * @param max cache registrations (session, path) kept at most; past it, reads are not cacheable.
   * @param writeBarrier no write goes before this (the old master's leases' end) unless every
   *   session taken over has flushed.
   */
  constructor(
    private readonly max: number,
    private writeBarrier: number,
  ) {}

  /** Sessions another master served: their caches may hold anything until they flush. */
  takeOver(sessions: SessionId[]): void {
    for (const session of sessions) this.unflushed.add(session);
  }

  /** `session` read `path` and would cache it: true if it may (no write of it under way, room left). */
  register(session: SessionId, path: string): boolean {
    if ((this.writing.get(path) ?? 0) > 0 || this.count >= this.max) return false;
    let set = this.cachers.get(path);
    if (!set) this.cachers.set(path, (set = new Set()));
    if (!set.has(session)) this.count++;
    set.add(session);
    return true;
  }

  /**
   * A write of `path` by `session`: every other session caching it is to be told (the returned
   * invalidations), and `go` runs once each has acknowledged or its lease (`leaseEnd`) has run
   * out; at once (returned true: the caller runs it) if nothing holds it.
   */
  write(path: string, session: SessionId, now: number, leaseEnd: (s: SessionId) => number | undefined, go: () => void): { invalidations: readonly Invalidation[]; ready: boolean } {
    this.writing.set(path, (this.writing.get(path) ?? 0) + 1);
    // Most writes (every lock grant) find nothing cached and nothing held: nothing to make for them.
    if (this.held.length === 0 && now >= this.writeBarrier && !this.cachers.has(path)) return NOTHING_HELD;
    const wait: HeldWrite = { path, ids: new Set(), deadline: Math.max(now, this.writeBarrier), go };
    const invalidations: Invalidation[] = [];
    for (const holder of this.cachers.get(path) ?? []) {
      if (holder === session) continue;
      const id = this.nextId++;
      wait.ids.add(id);
      wait.deadline = Math.max(wait.deadline, leaseEnd(holder) ?? now);
      invalidations.push({ session: holder, id, path });
    }
    // An earlier write of the path still waits for holders (no longer listed as cachers): so does this one.
    for (const earlier of this.held) {
      if (earlier.path !== path) continue;
      for (const id of earlier.ids) wait.ids.add(id);
      wait.deadline = Math.max(wait.deadline, earlier.deadline);
    }
    const set = this.cachers.get(path);
    if (set) {
      this.count -= set.size;
      this.cachers.delete(path);
    }
    const ready = wait.ids.size === 0 && now >= wait.deadline;
    if (!ready) this.held.push(wait);
    return { invalidations, ready };
  }

  /** A write of `path` ended (committed or failed); `writer` may keep its write-through copy (true) unless another write of it is under way. */
  doneWriting(path: string, writer?: SessionId): boolean {
    const n = (this.writing.get(path) ?? 1) - 1;
    if (n === 0) this.writing.delete(path);
    else this.writing.set(path, n);
    return writer !== undefined && this.register(writer, path);
  }

  /** Invalidations applied by a client: the writes they held that may go now. */
  acknowledged(ids: number[], now: number): Array<() => void> {
    if (ids.length === 0 || this.held.length === 0) return [];
    return this.release((w) => {
      let freed = false;
      for (const id of ids) freed = w.ids.delete(id) || freed;
      return freed && w.ids.size === 0 && now >= this.writeBarrier;
    });
  }

  /** A session taken over has flushed its cache (or ended): once all have, writes need not wait; the ones that may go now. */
  flushed(session: SessionId | undefined, now: number): Array<() => void> {
    if (session !== undefined) this.unflushed.delete(session);
    if (this.unflushed.size > 0 || this.writeBarrier <= now) return [];
    this.writeBarrier = now;
    return this.release((w) => w.ids.size === 0);
  }

  /** The session ended: it caches nothing any more. */
  sessionEnded(session: SessionId): void {
    for (const [path, set] of this.cachers) {
      if (!set.delete(session)) continue;
      this.count--;
      if (set.size === 0) this.cachers.delete(path);
    }
  }

  /** The writes whose wait ran out by `now`. */
  due(now: number): Array<() => void> {
    return this.release((w) => now >= w.deadline);
  }

  /** When the earliest held write's wait runs out. */
  nextDeadline(): number | undefined {
    let due: number | undefined;
    for (const w of this.held) due = due === undefined ? w.deadline : Math.min(due, w.deadline);
    return due;
  }

  /** Mastership lost: no held write goes any more. */
  stop(): void {
    for (const w of this.held) w.go = () => {};
  }

  private release(free: (w: HeldWrite) => boolean): Array<() => void> {
    const gone: Array<() => void> = [];
    for (let i = 0; i < this.held.length; ) {
      const w = this.held[i]!;
      if (free(w)) {
        this.held.splice(i, 1);
        gone.push(w.go);
      } else i++;
    }
    return gone;
  }
}
