import { RemoteActorError, type ActorContext, type ActorRef, type MessageOf, type ReplyOf } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import type { ChunkLease, ChunkLocation, ChunkserverMsg, MasterMsg, MutateResult, MutationOp, PushMeta } from '../protocol.ts';
import { ExpiringCache } from './location-cache.ts';
import type { ClientMsg } from './protocol.ts';
import { GfsClientError, retrying, TransientError } from './retry.ts';

/** Bytes in pieces; checks they are byte arrays (a replica's answer). */
function byteLength(pieces: unknown): number {
  if (!Array.isArray(pieces) || !pieces.every((p) => p instanceof Uint8Array)) throw new TransientError('a replica answered a read with something other than byte arrays');
  return pieces.reduce((n: number, p: Uint8Array) => n + p.length, 0);
}

/** A mutation's answer may wait for a secondary asked up to three times (each mutationTimeoutMs), behind another mutation. */
const MUTATE_TIMEOUT_FACTOR = 4;

/** Cached chunk locations and leases per session, at most. */
const MAX_CACHED = 10_000;

interface ServerEntry {
  ref: ActorRef<ChunkserverMsg>;
  rack: string;
}

/**
 * The client's chunk-level work: locations and leases from the master (cached), pushing data
 * along the replicas, asking the primary to order a mutation, and reading from the nearest
 * replica with fall-over to the others. Every step retries with backoff, bounded.
 */
export class ChunkIo {
  private readonly locations: ExpiringCache<ChunkLocation>;
  private readonly leases: ExpiringCache<ChunkLease>;
  /** Per file, a length it was seen to reach (files only grow: a delete, rename or snapshot forgets it with the rest). */
  private readonly lengths: ExpiringCache<number>;
  private servers = new Map<ServerId, ServerEntry>();
  private nextDataId = 0;
  private readonly sessionId: string;

  constructor(
    private readonly ctx: ActorContext<ClientMsg>,
    private master: ActorRef<MasterMsg>,
    readonly config: GfsConfig,
    private readonly rack: string | undefined,
  ) {
    this.locations = new ExpiringCache(MAX_CACHED);
    this.leases = new ExpiringCache(MAX_CACHED);
    this.lengths = new ExpiringCache(MAX_CACHED);
    this.sessionId = `${ctx.self.toString()}-${Math.floor(ctx.random() * 2 ** 32).toString(36)}`;
  }

  /** A fresh id, unique across sessions (records and pushed data carry one). */
  freshId(): string {
    return `${this.sessionId}-${(this.nextDataId++).toString(36)}`;
  }

  /** A new master (high availability, from the session's locator): requests go there from now on. */
  masterMoved(master: ActorRef<MasterMsg>): void {
    this.master = master;
  }

  askMaster<K extends string>(msg: MasterMsg & { type: K }): Promise<ReplyOf<MessageOf<MasterMsg, K>>> {
    // a lease may wait for a grant, which waits up to leaseGrantTimeoutMs for the replicas
    const timeoutMs = this.config.mutationTimeoutMs + (msg.type === 'lease' ? 2 * this.config.leaseGrantTimeoutMs : 0);
    return this.ctx.ask<MasterMsg, K>(this.master, msg, { timeoutMs });
  }

  /** A read of the master's (list, stat, locate), asked again when lost. */
  idempotent<K extends string>(what: string, msg: MasterMsg & { type: K }): Promise<ReplyOf<MessageOf<MasterMsg, K>>> {
    return retrying(this.ctx, this.config, what, () => this.askMaster<K>(msg));
  }

  /** Forgets what is cached of paths under prefix (after a delete, rename or snapshot). */
  forget(prefix: string): void {
    this.locations.deletePrefix(prefix);
    this.leases.deletePrefix(prefix);
    this.lengths.deletePrefix(prefix);
  }

  /** Whether the file was seen, within locationCacheMs, to reach `end` (a read to there needs no stat then). */
  knownToReach(path: string, end: number): boolean {
    return (this.lengths.get(path, this.ctx.now()) ?? -1) >= end;
  }

  /** The file was seen to reach lengthBytes; trusted as long as a cached location. */
  reached(path: string, lengthBytes: number): void {
    if (!this.knownToReach(path, lengthBytes)) this.lengths.set(path, lengthBytes, this.ctx.now() + this.config.locationCacheMs);
  }

  async locate(path: string, index: number): Promise<ChunkLocation> {
    const key = `${path}\u0000${index}`;
    const cached = this.locations.get(key, this.ctx.now());
    if (cached) return cached;
    const loc = await this.askMaster({ type: 'locate', path, index });
    this.locations.set(key, loc, this.ctx.now() + this.config.locationCacheMs);
    return loc;
  }

  /**
   * Adds chunks until the file has chunk `index` (each add names the index it wants, so clients
   * racing past the end add one chunk, not one each).
   */
  async ensureChunk(path: string, index: number): Promise<void> {
    const stat = await this.idempotent(`stat ${path}`, { type: 'stat', path });
    if (stat.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
    for (let i = stat.chunks; i <= index; i++) await this.askMaster({ type: 'add-chunk', path, index: i });
  }

  /**
   * Pushes data and has the chunk's primary order it (write or append), retrying from a fresh
   * lease on each failure; adds the chunk first if the file does not have it yet.
   */
  mutate(path: string, index: number, op: MutationOp, data: Uint8Array): Promise<MutateResult> {
    const key = `${path}\u0000${index}`;
    return retrying(
      this.ctx,
      this.config,
      `${op.kind} to ${path} chunk ${index}`,
      async () => {
        const lease = await this.lease(path, index, key);
        const replicas = await this.refs(lease.replicas);
        const primary = replicas.get(lease.primary);
        if (!primary) throw new GfsClientError(`chunk ${lease.handle}: its primary ${lease.primary} is not among its replicas`);
        const dataId = await this.push(replicas, data);
        return await this.ctx.ask(primary, { type: 'mutate', handle: lease.handle, version: lease.version, dataId, op }, { timeoutMs: MUTATE_TIMEOUT_FACTOR * this.config.mutationTimeoutMs });
      },
      () => {
        this.leases.delete(key);
        this.locations.delete(key);
      },
    );
  }

  /**
   * Bytes [offset, offset + length) of a chunk in the pieces they came in, from the nearest replica that has them all. A
   * replica ending before (one that missed mutations the others applied) sends the read on to the
   * next; zeros fill only a region no replica holds (a hole), once every replica has answered.
   * `spread` (a piece's number) picks among equally near replicas, so the pieces of a large read
   * in flight together are served by several servers.
   */
  readChunk(path: string, index: number, offset: number, length: number, spread = 0): Promise<Uint8Array[]> {
    const key = `${path}\u0000${index}`;
    return retrying(
      this.ctx,
      this.config,
      `read of ${path} chunk ${index}`,
      async () => {
        const loc = await this.locate(path, index);
        if (loc.replicas.length === 0) throw new TransientError(`chunk ${loc.handle} has no live replica now`);
        let last: unknown;
        let longest: { pieces: Uint8Array[]; bytes: number } | undefined;
        for (const ref of this.nearestFirst(await this.refs(loc.replicas), spread)) {
          try {
            const pieces = await this.ctx.ask(ref, { type: 'read-data', handle: loc.handle, version: loc.version, offset, length }, { timeoutMs: this.config.mutationTimeoutMs });
            const bytes = byteLength(pieces);
            if (bytes === length) return pieces;
            if (!longest || bytes > longest.bytes) longest = { pieces, bytes };
          } catch (err) {
            last = err;
          }
        }
        if (last !== undefined || !longest) throw last ?? new TransientError(`chunk ${loc.handle}: no replica answered`);
        return [...longest.pieces, new Uint8Array(length - longest.bytes)];
      },
      () => this.locations.delete(key),
    );
  }

  /** The length of a chunk's data (the longest its live replicas report). */
  async chunkLength(path: string, index: number): Promise<number> {
    return retrying(this.ctx, this.config, `length of ${path} chunk ${index}`, async () => {
      const loc = await this.locate(path, index);
      const infos = await Promise.allSettled([...(await this.refs(loc.replicas)).values()].map((ref) => this.ctx.ask(ref, { type: 'chunk-info', handle: loc.handle }, { timeoutMs: this.config.mutationTimeoutMs })));
      const lengths = infos.flatMap((r) => (r.status === 'fulfilled' && r.value?.version === loc.version ? [r.value.lengthBytes] : []));
      if (lengths.length === 0) {
        this.locations.delete(`${path}\u0000${index}`);
        throw new TransientError(`no replica of chunk ${loc.handle} answered with version ${loc.version}`);
      }
      return Math.max(...lengths);
    });
  }

  private async lease(path: string, index: number, key: string): Promise<ChunkLease> {
    const cached = this.leases.get(key, this.ctx.now());
    if (cached) return cached;
    let lease: ChunkLease;
    try {
      lease = await this.askMaster({ type: 'lease', path, index });
    } catch (err) {
      if (!(err instanceof RemoteActorError && /has no chunk/.test(err.message))) throw err;
      await this.ensureChunk(path, index);
      lease = await this.askMaster({ type: 'lease', path, index });
    }
    // the primary takes its lease to end early (drift margin): so does the client
    this.leases.set(key, lease, lease.expiresAtMs - this.config.leaseMs * 0.1);
    return lease;
  }

  /**
   * Pushes data along the replicas, nearest first, each forwarding as it receives; resolves with
   * the data's id once every replica has it in full.
   */
  private async push(replicas: Map<ServerId, ActorRef<ChunkserverMsg>>, data: Uint8Array): Promise<string> {
    const dataId = this.freshId();
    const [first, ...rest] = this.nearestFirst(replicas);
    if (!first) throw new TransientError('no replica to push data to');
    const ready = [first, ...rest].map((ref) => this.ctx.ask(ref, { type: 'data-ready', dataId }, { timeoutMs: this.config.pushTimeoutMs + this.config.mutationTimeoutMs }));
    // a failed push leaves these asks to fail on their own; they must not go unhandled
    for (const r of ready) r.catch(() => {});
    if (data.length <= this.config.pushPieceBytes) this.ctx.send(first, { type: 'push', dataId, chain: rest, data });
    else await this.pushOnStream(first, { dataId, lengthBytes: data.length, chain: rest }, data);
    await Promise.all(ready);
    return dataId;
  }

  /**
   * The stream's window is the whole push, so no write waits for credit and every piece goes out
   * at once (a chain of awaits per piece would also stall the simulator between events); the
   * bound is the chunkservers' push buffer, and the next push starts once this one is in.
   */
  private async pushOnStream(first: ActorRef<ChunkserverMsg>, meta: PushMeta, data: Uint8Array): Promise<void> {
    const writer = this.ctx.openStream(first, { meta, windowBytes: data.length, idleTimeoutMs: this.config.mutationTimeoutMs });
    try {
      const writes: Array<Promise<void>> = [];
      for (let at = 0; at < data.length; at += this.config.pushPieceBytes) writes.push(writer.write(data.subarray(at, at + this.config.pushPieceBytes)));
      await Promise.all([...writes, writer.end()]);
    } catch (err) {
      writer.abort(String(err));
      throw err;
    }
  }

  /** Same node first, then same rack, then the rest; equally near ones in the order given, turned by `rotate`. */
  private nearestFirst(replicas: Map<ServerId, ActorRef<ChunkserverMsg>>, rotate = 0): Array<ActorRef<ChunkserverMsg>> {
    const distance = (id: ServerId, ref: ActorRef<ChunkserverMsg>): number =>
      ref.node === this.ctx.node ? 0 : this.rack !== undefined && this.servers.get(id)?.rack === this.rack ? 1 : 2;
    const all = [...replicas];
    const turn = all.length === 0 ? 0 : rotate % all.length;
    return [...all.slice(turn), ...all.slice(0, turn)].sort(([a, ra], [b, rb]) => distance(a, ra) - distance(b, rb)).map(([, ref]) => ref);
  }

  /** Refs of servers by id, from the master's server table (fetched again when one is unknown). */
  private async refs(ids: ServerId[]): Promise<Map<ServerId, ActorRef<ChunkserverMsg>>> {
    if (ids.some((id) => !this.servers.has(id))) {
      const status = await this.askMaster({ type: 'status' });
      this.servers = new Map(status.servers.map((s) => [s.id, { ref: s.ref, rack: s.rack }]));
    }
    const out = new Map<ServerId, ActorRef<ChunkserverMsg>>();
    for (const id of ids) {
      const s = this.servers.get(id);
      if (s) out.set(id, s.ref);
    }
    return out;
  }
}
