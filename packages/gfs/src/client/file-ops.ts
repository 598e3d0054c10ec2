import type { ActorContext } from '@actorfs/actors';
import { encodeRecord } from '../append/record.ts';
import type { GfsConfig } from '../config.ts';
import { validatePath } from '../namespace/path.ts';
import type { MasterMsg } from '../protocol.ts';
import type { ChunkIo } from './chunk-io.ts';
import { joined } from './joined.ts';
import type { ClientMsg, FileStat } from './protocol.ts';
import { GfsClientError, isRetryable, retrying } from './retry.ts';

/** Bytes one read request answers at most (the answer is one message); GfsClient.read splits larger reads. */
export const MAX_READ_CALL_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** Appends that find their chunk full and move to the next, at most, before the append fails. */
const MAX_APPEND_HOPS = 16;

/** Files whose append position a session remembers; past that the oldest is forgotten (and looked up again). */
const MAX_APPEND_FILES = 10_000;

/** Waits for every promise; then throws the first failure, if any (a failed write answers only once none of its parts is still running). */
async function settleAll(promises: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The client library's file operations, over one session's chunk I/O: each request of the
 * session's mailbox becomes one `run`, splitting reads and writes at chunk boundaries, moving
 * appends on to the next chunk when one is full, and retrying namespace changes.
 */
export class FileOps {
  /** Per file, the chunk appends go to (moves on when a primary answers that the chunk is full). */
  private readonly appendChunk = new Map<string, number>();
  private readonly chunkSize: number;

  constructor(
    private readonly ctx: ActorContext<never>,
    private readonly io: ChunkIo,
    private readonly config: GfsConfig,
  ) {
    this.chunkSize = config.chunkSizeBytes;
  }

  async run(msg: ClientMsg): Promise<unknown> {
    switch (msg.type) {
      case 'mkdir':
      case 'create':
      case 'delete':
      case 'undelete': {
        const path = this.pathOf(msg.path);
        this.io.forget(path);
        this.appendChunk.delete(path);
        return this.namespaceChange({ type: msg.type, path });
      }
      case 'rename': {
        const [from, to] = [this.pathOf(msg.from), this.pathOf(msg.to)];
        this.io.forget(from);
        this.io.forget(to);
        this.appendChunk.clear();
        return this.namespaceChange({ type: 'rename', from, to });
      }
      case 'snapshot': {
        const [source, target] = [this.pathOf(msg.source), this.pathOf(msg.target)];
        const done = await this.namespaceChange({ type: 'snapshot', source, target });
        // leases of the source's chunks were revoked: the next write must ask again (and finds them shared)
        this.io.forget(source);
        return done;
      }
      case 'list':
        return this.io.idempotent(`list ${String(msg.path)}`, { type: 'list', path: this.pathOf(msg.path) });
      case 'stat':
        return this.stat(this.pathOf(msg.path));
      case 'read':
        return joined(await this.readPieces(this.pathOf(msg.path), msg.offset, msg.length));
      case 'read-pieces':
        return this.readPieces(this.pathOf(msg.path), msg.offset, msg.length);
      case 'write':
        return this.write(this.pathOf(msg.path), msg.offset, msg.data);
      case 'append':
        return this.append(this.pathOf(msg.path), msg.payload, msg.id);
      default: {
        const never: never = msg;
        throw new GfsClientError(`unknown request ${JSON.stringify((never as { type?: unknown }).type)}`);
      }
    }
  }

  private pathOf(p: unknown): string {
    return validatePath(p, this.config).path;
  }

  private async stat(path: string): Promise<FileStat> {
    const s = await this.io.idempotent(`stat ${path}`, { type: 'stat', path });
    return s.kind === 'dir' ? s : this.sized(path, s.chunks);
  }

  /** A file's stat: every chunk but the last counts as full; the last is as long as its longest live replica. */
  private async sized(path: string, chunks: number): Promise<Extract<FileStat, { kind: 'file' }>> {
    const sizeBytes = chunks === 0 ? 0 : (chunks - 1) * this.chunkSize + (await this.io.chunkLength(path, chunks - 1));
    this.io.reached(path, sizeBytes);
    return { kind: 'file', chunks, sizeBytes, chunkSizeBytes: this.chunkSize };
  }

  private async readPieces(path: string, offset: number, length: number): Promise<Uint8Array[]> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new GfsClientError(`read of ${path}: bad range (offset ${String(offset)}, length ${String(length)})`);
    }
    if (length > MAX_READ_CALL_BYTES) throw new GfsClientError(`read of ${path}: ${length} bytes in one request is over ${MAX_READ_CALL_BYTES} (GfsClient.read splits larger reads)`);
    await this.mustReach(path, offset, length);
    const pieces: Array<Promise<Uint8Array[]>> = [];
    const pieceBytes = this.config.readPieceBytes;
    for (let at = offset; at < offset + length; ) {
      const index = Math.floor(at / this.chunkSize);
      const inChunk = at - index * this.chunkSize;
      const n = Math.min(offset + length - at, this.chunkSize - inChunk, pieceBytes);
      pieces.push(this.io.readChunk(path, index, inChunk, n, Math.floor(at / pieceBytes)));
      at += n;
    }
    return (await Promise.all(pieces)).flat();
  }

  /**
   * Refuses a read past the file's end. Only a read into the last chunk needs that chunk's length
   * (asked of its replicas); every earlier chunk counts as full. A read within a length this
   * session saw the file reach lately asks nothing (the calls of one large read ask once).
   */
  private async mustReach(path: string, offset: number, length: number): Promise<void> {
    const end = offset + length;
    if (this.io.knownToReach(path, end)) return;
    const s = await this.io.idempotent(`stat ${path}`, { type: 'stat', path });
    if (s.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
    const fullChunksBytes = Math.max(0, s.chunks - 1) * this.chunkSize;
    if (end <= fullChunksBytes) return this.io.reached(path, fullChunksBytes);
    const { sizeBytes } = await this.sized(path, s.chunks);
    if (end > sizeBytes) throw new GfsClientError(`read of ${path} [${offset}, ${end}) is past its end at ${sizeBytes}`);
  }

  private async write(path: string, offset: number, data: Uint8Array): Promise<true> {
    if (!(data instanceof Uint8Array)) throw new GfsClientError(`write to ${path}: data must be a Uint8Array`);
    if (data.length === 0) throw new GfsClientError(`write to ${path}: zero bytes (nothing to write)`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new GfsClientError(`write to ${path}: bad offset ${String(offset)}`);
    // the units go at once: each pushes while the others are ordered (the primary pipelines a chunk's mutations)
    const units: Array<Promise<unknown>> = [];
    for (let at = offset; at < offset + data.length; ) {
      const index = Math.floor(at / this.chunkSize);
      const inChunk = at - index * this.chunkSize;
      const n = Math.min(offset + data.length - at, this.chunkSize - inChunk, this.config.writeUnitBytes);
      units.push(this.io.mutate(path, index, { kind: 'write', offset: inChunk }, data.subarray(at - offset, at - offset + n)));
      at += n;
    }
    await settleAll(units);
    return true;
  }

  private async append(path: string, payload: Uint8Array, id: string | undefined): Promise<number> {
    if (!(payload instanceof Uint8Array)) throw new GfsClientError(`append to ${path}: the record must be a Uint8Array`);
    const record = encodeRecord(id ?? this.io.freshId(), payload, this.config.maxRecordBytes);
    let index = this.appendChunk.get(path);
    if (index === undefined) {
      const s = await this.io.askMaster({ type: 'stat', path });
      if (s.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
      index = Math.max(0, s.chunks - 1);
    }
    for (let hop = 0; hop < MAX_APPEND_HOPS; hop++) {
      const result = await this.io.mutate(path, index, { kind: 'append' }, record);
      if ('offset' in result) {
        this.rememberAppendChunk(path, index);
        return index * this.chunkSize + result.offset;
      }
      index++;
    }
    throw new GfsClientError(`append to ${path}: ${MAX_APPEND_HOPS} chunks in a row were full`);
  }

  private rememberAppendChunk(path: string, index: number): void {
    this.appendChunk.delete(path);
    if (this.appendChunk.size >= MAX_APPEND_FILES) this.appendChunk.delete(this.appendChunk.keys().next().value!);
    this.appendChunk.set(path, index);
  }

  /**
   * A namespace change is retried only when its answer was lost; a retry refused then (the file
   * already exists, say) may be refusing the first attempt's own effect, and the error says so.
   */
  private namespaceChange(msg: Extract<MasterMsg, { type: 'mkdir' | 'create' | 'delete' | 'undelete' | 'rename' | 'snapshot' }>): Promise<unknown> {
    const what = `${msg.type} ${'path' in msg ? msg.path : 'from' in msg ? `${msg.from} to ${msg.to}` : `${msg.source} to ${msg.target}`}`;
    return retrying(this.ctx, this.config, what, async (attempt) => {
      try {
        return await this.io.askMaster(msg);
      } catch (err) {
        if (attempt === 1 || isRetryable(err)) throw err;
        throw new GfsClientError(`${what}: an earlier attempt got no answer and may have been applied; the retry was refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }
}
