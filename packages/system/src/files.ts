import { AskTimeoutError, DeliveryError, type ActorRef, type ActorSystem } from '@actorfs/actors';
import { GfsClient, type ChunkLocation, type ClientMsg, type HaMasterClient } from '@actorfs/gfs';

/** Bytes per write call to the GFS client: HTTP delivers a body in small parts, regrouped to this. */
export const PIECE_BYTES = 4 * 1024 * 1024;
/**
 * One client call (retries included) or master question gives up after this: longer than the GFS
 * client's retries (clientAttempts), which outlast a master failover.
 */
export const CALL_TIMEOUT_MS = 120_000;
/** A lost master read is sent again after this. */
const LOCATE_RETRY_MS = 250;

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
 * The file operations the system serves, through the GFS client library (a client session on the
 * main thread): writes go through each chunk's primary, which orders them along the replica chain,
 * and `append` is GFS record append, so concurrent writers and appenders see one order.
 */
export class Files {
  private readonly client: GfsClient;

  constructor(
    system: ActorSystem,
    private readonly master: HaMasterClient,
    session: ActorRef<ClientMsg>,
  ) {
    this.client = new GfsClient(session, (ref, msg, opts) => system.ask(ref, msg as ClientMsg & { type: 'stat' }, opts), { timeoutMs: CALL_TIMEOUT_MS, callBytes: PIECE_BYTES });
  }

  list(path: string): Promise<DirEntry[]> {
    return this.client.list(path);
  }
  mkdir(path: string): Promise<void> {
    return this.client.mkdir(path);
  }
  remove(path: string): Promise<void> {
    return this.client.delete(path);
  }
  undelete(path: string): Promise<void> {
    return this.client.undelete(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.client.rename(from, to);
  }
  snapshot(source: string, target: string): Promise<void> {
    return this.client.snapshot(source, target);
  }

  /** A file's size or a directory, from the client (no chunk is located). */
  async kindAndSize(path: string): Promise<Pick<FileStat, 'kind' | 'sizeBytes'>> {
    const s = await this.client.stat(path);
    return s.kind === 'dir' ? { kind: 'dir', sizeBytes: 0 } : { kind: 'file', sizeBytes: s.sizeBytes };
  }

  /** Size from the client; each chunk's handle, version and replicas from the master in office (chunks before the last are full). */
  async stat(path: string): Promise<FileStat> {
    const s = await this.client.stat(path);
    if (s.kind === 'dir') return { path, kind: 'dir', sizeBytes: 0, chunks: [] };
    const chunks: FileStat['chunks'] = [];
    for (let index = 0; index < s.chunks; index++) {
      const loc = await this.locate(path, index);
      const lengthBytes = index < s.chunks - 1 ? s.chunkSizeBytes : s.sizeBytes - index * s.chunkSizeBytes;
      chunks.push({ ...loc, lengthBytes });
    }
    return { path, kind: 'file', sizeBytes: s.sizeBytes, chunks };
  }

  /**
   * A chunk's location from the master. A read is safe to send again when it was lost on the
   * way (a master that died): the next attempt asks the master the lock service names then.
   */
  private async locate(path: string, index: number): Promise<ChunkLocation> {
    for (const end = Date.now() + CALL_TIMEOUT_MS; ; await this.master.sleep(LOCATE_RETRY_MS)) {
      try {
        return await this.master.call({ type: 'locate', path, index });
      } catch (err) {
        if (!(err instanceof DeliveryError || err instanceof AskTimeoutError) || Date.now() > end) throw err;
      }
    }
  }

  /** Creates `path` and fills it from `body` through the client's streaming write; returns the bytes written. */
  async put(path: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    await this.client.create(path);
    return this.client.writeStream(path, pieces(body, PIECE_BYTES));
  }

  /** Appends `data` as one GFS record (created if absent); answers the file offset the record landed at. */
  async append(path: string, data: Uint8Array): Promise<{ offset: number }> {
    await this.client.create(path).catch((err: unknown) => {
      if (!/already exists/.test(String(err))) throw err;
    });
    return { offset: await this.client.append(path, data) };
  }

  /** The file's bytes as stored, a piece at a time. */
  read(path: string): AsyncGenerator<Uint8Array> {
    return this.client.readStream(path);
  }

  /** The payloads of the file's records, in file order, each once (padding, torn records and duplicates skipped). */
  async *records(path: string): AsyncGenerator<Uint8Array> {
    for await (const r of this.client.records(path)) yield r.payload;
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
