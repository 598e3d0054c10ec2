import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { encodeRecord } from '../append/record.ts';
import { gfsConfig, type GfsConfig } from '../config.ts';
import { validatePath } from '../namespace/path.ts';
import type { LockCellRef } from '../ha/ha-config.ts';
import { MasterLocator, type MasterChanged } from '../ha/master-locator.ts';
import type { MasterMsg } from '../protocol.ts';
import { ChunkIo } from './chunk-io.ts';
import { joined } from './joined.ts';
import type { ClientMsg, FileStat } from './protocol.ts';
import { GfsClientError, isRetryable, retrying } from './retry.ts';

export interface ClientSessionProps {
  master: ActorRef<MasterMsg>;
  /** The client's rack: reads prefer a replica on the same node, then one on this rack. */
  rack?: string;
  /** Must match the cell's chunk size; the rest are the client's own timeouts and limits. */
  config?: Partial<GfsConfig>;
  /** With a highly available master: the session follows the master the lock service names (`master` is the first guess). */
  ha?: { lock: LockCellRef };
}

/** Bytes one read request answers at most (the answer is one message); GfsClient.read splits larger reads. */
export const MAX_READ_CALL_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** Waits for every promise; then throws the first failure, if any (a failed write answers only once none of its parts is still running). */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Appends that find their chunk full and move to the next, at most, before the append fails. */
const MAX_APPEND_HOPS = 16;

/**
 * A client session: the GFS client library as an actor, so the main thread (system.ask), the
 * simulator and any actor use it alike (GfsClient is the promise API over it). Each request runs
 * beside the mailbox, so many run at once, up to maxClientOps; beyond that a request is refused.
 */
export const ClientSession = defineActor('gfs.client', (props: ClientSessionProps, ctx: ActorContext<ClientMsg | MasterChanged>) => {
  const config = gfsConfig(props.config);
  const io = new ChunkIo(ctx, props.master, config, props.rack);
  if (props.ha) ctx.spawn(MasterLocator, { lock: props.ha.lock, principal: ctx.self.toString(), subscriber: ctx.self }, { name: `${ctx.self.id}-master-locator` });
  /** Per file, the chunk appends go to (moves on when a primary answers that the chunk is full). */
  const appendChunk = new Map<string, number>();
  let running = 0;

  const pathOf = (p: unknown): string => validatePath(p, config).path;
  const chunkSize = config.chunkSizeBytes;

  async function stat(path: string): Promise<FileStat> {
    const s = await io.idempotent(`stat ${path}`, { type: 'stat', path });
    return s.kind === 'dir' ? s : sized(path, s.chunks);
  }

  /** A file's stat: every chunk but the last counts as full; the last is as long as its longest live replica. */
  async function sized(path: string, chunks: number): Promise<Extract<FileStat, { kind: 'file' }>> {
    const sizeBytes = chunks === 0 ? 0 : (chunks - 1) * chunkSize + (await io.chunkLength(path, chunks - 1));
    io.reached(path, sizeBytes);
    return { kind: 'file', chunks, sizeBytes, chunkSizeBytes: chunkSize };
  }

  async function readPieces(path: string, offset: number, length: number): Promise<Uint8Array[]> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new GfsClientError(`read of ${path}: bad range (offset ${String(offset)}, length ${String(length)})`);
    }
    if (length > MAX_READ_CALL_BYTES) throw new GfsClientError(`read of ${path}: ${length} bytes in one request is over ${MAX_READ_CALL_BYTES} (GfsClient.read splits larger reads)`);
    await mustReach(path, offset, length);
    const pieces: Array<Promise<Uint8Array[]>> = [];
    for (let at = offset; at < offset + length; ) {
      const index = Math.floor(at / chunkSize);
      const inChunk = at - index * chunkSize;
      const n = Math.min(offset + length - at, chunkSize - inChunk, config.readPieceBytes);
      pieces.push(io.readChunk(path, index, inChunk, n, Math.floor(at / config.readPieceBytes)));
      at += n;
    }
    return (await Promise.all(pieces)).flat();
  }

  /**
   * Refuses a read past the file's end. Only a read into the last chunk needs that chunk's length
   * (asked of its replicas); every earlier chunk counts as full. A read within a length this
   * session saw the file reach lately asks nothing (the calls of one large read ask once).
   */
  async function mustReach(path: string, offset: number, length: number): Promise<void> {
    const end = offset + length;
    if (io.knownToReach(path, end)) return;
    const s = await io.idempotent(`stat ${path}`, { type: 'stat', path });
    if (s.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
    const fullChunksBytes = Math.max(0, s.chunks - 1) * chunkSize;
    if (end <= fullChunksBytes) return io.reached(path, fullChunksBytes);
    const { sizeBytes } = await sized(path, s.chunks);
    if (end > sizeBytes) throw new GfsClientError(`read of ${path} [${offset}, ${end}) is past its end at ${sizeBytes}`);
  }

  async function write(path: string, offset: number, data: Uint8Array): Promise<true> {
    if (!(data instanceof Uint8Array)) throw new GfsClientError(`write to ${path}: data must be a Uint8Array`);
    if (data.length === 0) throw new GfsClientError(`write to ${path}: zero bytes (nothing to write)`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new GfsClientError(`write to ${path}: bad offset ${String(offset)}`);
    // the units go at once: each pushes while the others are ordered (the primary pipelines a chunk's mutations)
    const units: Array<Promise<unknown>> = [];
    for (let at = offset; at < offset + data.length; ) {
      const index = Math.floor(at / chunkSize);
      const inChunk = at - index * chunkSize;
      const n = Math.min(offset + data.length - at, chunkSize - inChunk, config.writeUnitBytes);
      units.push(io.mutate(path, index, { kind: 'write', offset: inChunk }, data.subarray(at - offset, at - offset + n)));
      at += n;
    }
    await settleAll(units);
    return true;
  }

  async function append(path: string, payload: Uint8Array, id: string | undefined): Promise<number> {
    if (!(payload instanceof Uint8Array)) throw new GfsClientError(`append to ${path}: the record must be a Uint8Array`);
    const record = encodeRecord(id ?? io.freshId(), payload, config.maxRecordBytes);
    let index = appendChunk.get(path);
    if (index === undefined) {
      const s = await io.askMaster({ type: 'stat', path });
      if (s.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
      index = Math.max(0, s.chunks - 1);
    }
    for (let hop = 0; hop < MAX_APPEND_HOPS; hop++) {
      const result = await io.mutate(path, index, { kind: 'append' }, record);
      if ('offset' in result) {
        remember(path, index);
        return index * chunkSize + result.offset;
      }
      index++;
    }
    throw new GfsClientError(`append to ${path}: ${MAX_APPEND_HOPS} chunks in a row were full`);
  }

  /** Bounded: a session appending to more files than this forgets the oldest's position (it is looked up again). */
  function remember(path: string, index: number): void {
    appendChunk.delete(path);
    if (appendChunk.size >= 10_000) appendChunk.delete(appendChunk.keys().next().value!);
    appendChunk.set(path, index);
  }

  /**
   * A namespace change is retried only when its answer was lost; a retry refused then (the file
   * already exists, say) may be refusing the first attempt's own effect, and the error says so.
   */
  function namespaceChange(msg: Extract<MasterMsg, { type: 'mkdir' | 'create' | 'delete' | 'undelete' | 'rename' | 'snapshot' }>): Promise<unknown> {
    const what = `${msg.type} ${'path' in msg ? msg.path : 'from' in msg ? `${msg.from} to ${msg.to}` : `${msg.source} to ${msg.target}`}`;
    return retrying(ctx, config, what, async (attempt) => {
      try {
        return await io.askMaster(msg);
      } catch (err) {
        if (attempt === 1 || isRetryable(err)) throw err;
        throw new GfsClientError(`${what}: an earlier attempt got no answer and may have been applied; the retry was refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  async function run(msg: ClientMsg): Promise<unknown> {
    switch (msg.type) {
      case 'mkdir':
      case 'create':
      case 'delete':
      case 'undelete': {
        const path = pathOf(msg.path);
        io.forget(path);
        appendChunk.delete(path);
        return namespaceChange({ type: msg.type, path });
      }
      case 'rename': {
        const [from, to] = [pathOf(msg.from), pathOf(msg.to)];
        io.forget(from);
        io.forget(to);
        appendChunk.clear();
        return namespaceChange({ type: 'rename', from, to });
      }
      case 'snapshot': {
        const [source, target] = [pathOf(msg.source), pathOf(msg.target)];
        const done = await namespaceChange({ type: 'snapshot', source, target });
        // leases of the source's chunks were revoked: the next write must ask again (and finds them shared)
        io.forget(source);
        return done;
      }
      case 'list':
        return io.idempotent(`list ${String(msg.path)}`, { type: 'list', path: pathOf(msg.path) });
      case 'stat':
        return stat(pathOf(msg.path));
      case 'read':
        return joined(await readPieces(pathOf(msg.path), msg.offset, msg.length));
      case 'read-pieces':
        return readPieces(pathOf(msg.path), msg.offset, msg.length);
      case 'write':
        return write(pathOf(msg.path), msg.offset, msg.data);
      case 'append':
        return append(pathOf(msg.path), msg.payload, msg.id);
      default: {
        const never: never = msg;
        throw new GfsClientError(`unknown request ${JSON.stringify((never as { type?: unknown }).type)}`);
      }
    }
  }

  return (msg: ClientMsg | MasterChanged): void => {
    if (msg.type === 'master-changed') return void (msg.master && io.masterMoved(msg.master));
    const waiter = ctx.replyHandle();
    if (!waiter) return ctx.unhandled(msg);
    if (running >= config.maxClientOps) return ctx.replyErrorTo(waiter, new GfsClientError(`${config.maxClientOps} operations already run in this session`));
    running++;
    run(msg)
      .then(
        (value) => ctx.replyTo(waiter, value),
        (err: unknown) => ctx.replyErrorTo(waiter, err instanceof Error ? err : String(err)),
      )
      .finally(() => running--);
  };
});
