import type { ActorRef, ActorSystem } from '@actorfs/actors';
import { gfsConfig, type ChunkserverMsg, type GfsConfig, type MasterMsg } from '@actorfs/gfs';

/** Bytes per write or read message to a chunkserver: well below the transport's message limit. */
export const PIECE_BYTES = 1024 * 1024;
const ASK_TIMEOUT_MS = 30_000;
const ASK = { timeoutMs: ASK_TIMEOUT_MS };

export interface FileStat {
  path: string;
  kind: 'dir' | 'file';
  sizeBytes: number;
  chunks: Array<{ handle: number; version: number; replicas: string[]; lengthBytes: number }>;
}

export interface DirEntry {
  name: string;
  kind: 'dir' | 'file';
}

/**
 * The file operations the system serves, from the main thread, over the GFS master and
 * chunkservers. Data goes straight between main and the chunkservers a piece at a time, so a
 * large file is never one message nor held whole in memory.
 * (This drives the master's and chunkservers' own messages; the GFS client library, with
 * primaries ordering mutations along a replica chain, takes its place once it exists.)
 */
export class Files {
  private readonly settings: GfsConfig;

  constructor(
    private readonly system: ActorSystem,
    private readonly master: ActorRef<MasterMsg>,
    private readonly chunkservers: Map<string, ActorRef<ChunkserverMsg>>,
    settings: Partial<GfsConfig>,
  ) {
    this.settings = gfsConfig(settings);
  }

  list(path: string): Promise<DirEntry[]> {
    return this.system.ask(this.master, { type: 'list', path }, ASK);
  }

  async mkdir(path: string): Promise<void> {
    await this.system.ask(this.master, { type: 'mkdir', path }, ASK);
  }

  async remove(path: string): Promise<void> {
    await this.system.ask(this.master, { type: 'delete', path }, ASK);
  }

  async undelete(path: string): Promise<void> {
    await this.system.ask(this.master, { type: 'undelete', path }, ASK);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.system.ask(this.master, { type: 'rename', from, to }, ASK);
  }

  async snapshot(source: string, target: string): Promise<void> {
    await this.system.ask(this.master, { type: 'snapshot', source, target }, ASK);
  }

  async stat(path: string): Promise<FileStat> {
    const s = await this.system.ask(this.master, { type: 'stat', path }, ASK);
    if (s.kind === 'dir') return { path, kind: 'dir', sizeBytes: 0, chunks: [] };
    const chunks: FileStat['chunks'] = [];
    for (let index = 0; index < s.chunks; index++) {
      const loc = await this.system.ask(this.master, { type: 'locate', path, index }, ASK);
      chunks.push({ ...loc, lengthBytes: await this.chunkLength(loc.handle, loc.replicas) });
    }
    return { path, kind: 'file', sizeBytes: chunks.reduce((sum, c) => sum + c.lengthBytes, 0), chunks };
  }

  /** Creates `path` and fills it from `body`, chunk after chunk; returns the bytes written. */
  async put(path: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    await this.system.ask(this.master, { type: 'create', path }, ASK);
    let chunk: { handle: number; replicas: string[]; filled: number } | undefined;
    let written = 0;
    for await (const piece of pieces(body, PIECE_BYTES)) {
      let at = 0;
      while (at < piece.length) {
        if (!chunk || chunk.filled === this.settings.chunkSizeBytes) chunk = { ...(await this.newChunk(path)), filled: 0 };
        const part = piece.subarray(at, at + Math.min(piece.length - at, this.settings.chunkSizeBytes - chunk.filled));
        await this.writeReplicas(chunk.handle, chunk.replicas, chunk.filled, part);
        chunk.filled += part.length;
        at += part.length;
        written += part.length;
      }
    }
    return written;
  }

  /**
   * Adds `data` at the end of the file, created if absent (a new chunk when the last one has no room). The chunk's
   * lease is taken first: a chunk shared with a snapshot is then copied, so the snapshot keeps its bytes.
   */
  async append(path: string, data: Uint8Array): Promise<{ offset: number }> {
    const s = await this.stat(path).catch(async (err: unknown) => {
      if (!/does not exist/.test(String(err))) throw err;
      await this.system.ask(this.master, { type: 'create', path }, ASK);
      return this.stat(path);
    });
    if (s.kind === 'dir') throw new Error(`${path} is a directory`);
    let at = 0;
    const last = s.chunks.length - 1;
    if (last >= 0 && s.chunks[last]!.lengthBytes < this.settings.chunkSizeBytes) {
      const lease = await this.system.ask(this.master, { type: 'lease', path, index: last }, ASK);
      const room = this.settings.chunkSizeBytes - s.chunks[last]!.lengthBytes;
      const part = data.subarray(0, room);
      await this.writeReplicas(lease.handle, lease.replicas, s.chunks[last]!.lengthBytes, part);
      at = part.length;
    }
    while (at < data.length) {
      const chunk = await this.newChunk(path);
      const part = data.subarray(at, at + this.settings.chunkSizeBytes);
      await this.writeReplicas(chunk.handle, chunk.replicas, 0, part);
      at += part.length;
    }
    return { offset: s.sizeBytes };
  }

  /** The file's bytes, a piece at a time, each read from a live replica (another one if it fails). */
  async *read(path: string): AsyncGenerator<Uint8Array> {
    const s = await this.system.ask(this.master, { type: 'stat', path }, ASK);
    if (s.kind === 'dir') throw new Error(`${path} is a directory`);
    for (let index = 0; index < s.chunks; index++) {
      const loc = await this.system.ask(this.master, { type: 'locate', path, index }, ASK);
      const length = await this.chunkLength(loc.handle, loc.replicas);
      for (let offset = 0; offset < length; offset += PIECE_BYTES) {
        yield await this.readPiece(loc.handle, loc.replicas, offset, Math.min(PIECE_BYTES, length - offset));
      }
    }
  }

  private async newChunk(path: string): Promise<{ handle: number; replicas: string[] }> {
    const chunk = await this.system.ask(this.master, { type: 'add-chunk', path }, ASK);
    // the master tells the replicas too, once its record is durable; telling them from here as
    // well puts the creation ahead of this thread's writes (creation is idempotent)
    for (const id of chunk.replicas) this.system.tell(this.chunkserver(id), { type: 'create-chunk', handle: chunk.handle, version: 1 });
    return chunk;
  }

  private async writeReplicas(handle: number, replicas: string[], offset: number, data: Uint8Array): Promise<void> {
    if (replicas.length === 0) throw new Error(`chunk ${handle} has no live replica to write to`);
    await Promise.all(replicas.map((id) => this.system.ask(this.chunkserver(id), { type: 'write', handle, offset, data }, ASK)));
  }

  private async readPiece(handle: number, replicas: string[], offset: number, length: number): Promise<Uint8Array> {
    const errors: string[] = [];
    for (const id of replicas) {
      try {
        return await this.system.ask(this.chunkserver(id), { type: 'read', handle, offset, length }, ASK);
      } catch (err) {
        errors.push(`${id}: ${(err as Error).message}`);
      }
    }
    throw new Error(`chunk ${handle}: no replica could be read (${errors.join('; ') || 'none is live'})`);
  }

  private async chunkLength(handle: number, replicas: string[]): Promise<number> {
    for (const id of replicas) {
      const info = await this.system.ask(this.chunkserver(id), { type: 'chunk-info', handle }, ASK).catch(() => null);
      if (info) return info.lengthBytes;
    }
    throw new Error(`chunk ${handle}: no live replica (${replicas.length === 0 ? 'none known' : replicas.join(', ')})`);
  }

  private chunkserver(id: string): ActorRef<ChunkserverMsg> {
    const ref = this.chunkservers.get(id);
    if (!ref) throw new Error(`unknown chunkserver ${id}`);
    return ref;
  }
}

/** Regroups a byte stream into pieces of `size` bytes (the last may be shorter). */
export async function* pieces(body: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let filled = 0;
  for await (const part of body) {
    let at = 0;
    while (at < part.length) {
      const n = Math.min(size - filled, part.length - at);
      buf.set(part.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        yield buf;
        buf = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buf.subarray(0, filled);
}
