import type { ClientCache } from './client-cache.ts';
import type { ClientReply, ClientRequest } from './client-protocol.ts';
import type { QueryReply } from './client-requests.ts';
import type { CachedFile } from './local-view.ts';
import type { LsQuery, LsResults, SessionId } from './protocol.ts';
import type { ClientOp, ServerReply } from './server-protocol.ts';

/** What the handles need of their client session: its requests to the master and its lease. */
export interface HandlesSession {
  op<R>(o: ClientOp): Promise<ServerReply<R>>;
  query<R>(q: LsQuery, cache?: { session: SessionId; path: string }): Promise<QueryReply<R>>;
  /** Asks again, under the same attempt, while the outcome is unknown. */
  untilKnown<R>(ask: () => Promise<ServerReply<R>>): Promise<ServerReply<R>>;
  nextAttempt(): number;
  /** The session is live: an answer may be cached. */
  live(): boolean;
  /** The cached copy of `path`, if one may be served now. */
  cached(path: string): CachedFile | undefined;
}

/**
 * A client session's open handles (each with its node's path) and the calls on them: open, close,
 * delete and release, and reads and writes through the write-through cache.
 */
export class ClientHandles {
  private readonly paths = new Map<number, string>();
  /** Handles subscribed to "master failed over". */
  readonly failoverWatchers = new Set<number>();

  constructor(
    private readonly cache: ClientCache,
    private readonly session: HandlesSession,
  ) {}

  get size(): number {
    return this.paths.size;
  }

  /** The node path a handle was opened on (undefined: not open here). */
  path(handle: number): string | undefined {
    return this.paths.get(handle);
  }

  async open(s: SessionId, req: Extract<ClientRequest, { type: 'open' }>): Promise<ClientReply> {
    const r = await this.session.op<LsResults['open']>({ type: 'open', session: s, ...withoutType(req), create: req.create ?? 'never' });
    if (r.ok) this.paths.set(r.result.handle, r.result.stat.path);
    if (r.ok && req.events?.includes('masterFailover')) this.failoverWatchers.add(r.result.handle);
    return r;
  }

  /** close, delete and release: ops on a handle whose answer the application sees as empty. */
  async onHandle(s: SessionId, req: Extract<ClientRequest, { type: 'close' | 'delete' | 'release' }>): Promise<ClientReply> {
    const path = this.pathOf(req.handle);
    if (typeof path !== 'string') return path;
    if (req.type === 'delete') this.cache.forget(path);
    const r = await this.session.op({ type: req.type, session: s, handle: req.handle });
    if (r.ok && req.type !== 'release') this.forget(req.handle);
    return r.ok ? { ok: true, result: {} } : r;
  }

  async read(s: SessionId, handle: number): Promise<ClientReply> {
    const path = this.pathOf(handle);
    if (typeof path !== 'string') return path;
    const hit = this.session.cached(path);
    if (hit) return { ok: true, result: { ...hit, cached: true } };
    const r = await this.cacheAnswer(path, () => this.session.query<CachedFile>({ type: 'getContentsAndStat', session: s, handle }, { session: s, path }), (file) => file);
    return r.ok ? { ok: true, result: { ...r.result, cached: false } } : r;
  }

  async write(s: SessionId, req: Extract<ClientRequest, { type: 'setContents' }>): Promise<ClientReply> {
    const path = this.pathOf(req.handle);
    if (typeof path !== 'string') return path;
    this.cache.forget(path);
    const op: ClientOp = { type: 'setContents', session: s, ...withoutType(req), attempt: this.session.nextAttempt() };
    const write = () => this.session.untilKnown(() => this.session.op<LsResults['setContents']>(op)) as Promise<QueryReply<LsResults['setContents']>>;
    return this.cacheAnswer(path, write, ({ stat }) => ({ contents: req.contents, stat }), true);
  }

  /**
   * Asks for a copy of `path` (a read, or a write whose value the client keeps) and caches what
   * the answer gives, if the master says it may be cached and nothing changed the file while the
   * answer was on its way: an invalidation, a flush, or another write of this client's own.
   */
  private async cacheAnswer<R>(path: string, ask: () => Promise<QueryReply<R>>, copyOf: (result: R) => CachedFile, write = false): Promise<QueryReply<R>> {
    const incoming = this.cache.expect(path, write);
    let value: CachedFile | undefined;
    try {
      const r = await ask();
      if (r.ok && r.cacheable && this.session.live()) value = copyOf(r.result);
      return r;
    } finally {
      this.cache.arrived(incoming, value);
    }
  }

  private forget(handle: number): void {
    this.paths.delete(handle);
    this.failoverWatchers.delete(handle);
  }

  private pathOf(handle: number): string | ClientReply {
    return this.paths.get(handle) ?? { ok: false, error: { code: 'HANDLE_UNKNOWN', message: `handle ${handle} is not open in this session` } };
  }
}

function withoutType<T extends { type: string }>(req: T): Omit<T, 'type'> {
  const { type: _, ...rest } = req;
  return rest;
}
