import type { ActorRef, AskOptions } from '@actorfs/actors';
import { RecordReader, type FoundRecord } from '../append/record.ts';
import type { ClientMsg, FileStat, ListEntry } from './protocol.ts';
import { GfsClientError } from './retry.ts';

/** How the API reaches its session actor: `system.ask`, `sim.ask` or `ctx.ask`, bound. */
export type GfsAsker = (ref: ActorRef<ClientMsg>, msg: ClientMsg, opts: AskOptions) => Promise<unknown>;

export interface GfsClientOptions {
  /** How long one call to the session may take (it retries inside). Default 120 s. */
  timeoutMs?: number;
  /** Bytes per call to the session (well below the runtime's message limit). Default 4 MiB. */
  callBytes?: number;
  /** Record ids the record reader remembers to drop duplicates. Default 100,000. */
  recordDedupWindow?: number;
}

/**
 * The GFS client's promise API over a client-session actor (spawn `ClientSession`). Large reads
 * and writes are cut into calls of callBytes; the session splits them further at chunk
 * boundaries and retries each step.
 */
export class GfsClient {
  private readonly timeoutMs: number;
  private readonly callBytes: number;
  private readonly dedupWindow: number;

  constructor(
    readonly session: ActorRef<ClientMsg>,
    private readonly ask: GfsAsker,
    opts: GfsClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.callBytes = opts.callBytes ?? 4 * 1024 * 1024;
    this.dedupWindow = opts.recordDedupWindow ?? 100_000;
  }

  async mkdir(path: string): Promise<void> {
    await this.call({ type: 'mkdir', path });
  }
  async create(path: string): Promise<void> {
    await this.call({ type: 'create', path });
  }
  /** Hides the file; it can be undeleted until the cell's gcDelayMs has passed. */
  async delete(path: string): Promise<void> {
    await this.call({ type: 'delete', path });
  }
  async undelete(path: string): Promise<void> {
    await this.call({ type: 'undelete', path });
  }
  async rename(from: string, to: string): Promise<void> {
    await this.call({ type: 'rename', from, to });
  }
  /** A copy-on-write copy of a file or directory tree. */
  async snapshot(source: string, target: string): Promise<void> {
    await this.call({ type: 'snapshot', source, target });
  }
  list(path: string): Promise<ListEntry[]> {
    return this.call({ type: 'list', path }) as Promise<ListEntry[]>;
  }
  stat(path: string): Promise<FileStat> {
    return this.call({ type: 'stat', path }) as Promise<FileStat>;
  }

  async read(path: string, offset: number, length: number): Promise<Uint8Array> {
    if (length <= this.callBytes) return (await this.call({ type: 'read', path, offset, length })) as Uint8Array;
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += this.callBytes) {
      out.set((await this.call({ type: 'read', path, offset: offset + at, length: Math.min(this.callBytes, length - at) })) as Uint8Array, at);
    }
    return out;
  }

  async write(path: string, offset: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) throw new GfsClientError(`write to ${path}: zero bytes (nothing to write)`);
    for (let at = 0; at < data.length; at += this.callBytes) {
      await this.call({ type: 'write', path, offset: offset + at, data: data.subarray(at, at + this.callBytes) });
    }
  }

  /** Appends one record, atomically and at least once; resolves with the file offset it landed at. */
  append(path: string, payload: Uint8Array, id?: string): Promise<number> {
    return this.call({ type: 'append', path, payload, ...(id === undefined ? {} : { id }) }) as Promise<number>;
  }

  /** The whole file, piece by piece (for a Node stream: `Readable.from(client.readStream(path))`). */
  async *readStream(path: string): AsyncGenerator<Uint8Array> {
    const s = await this.fileStat(path);
    for (let at = 0; at < s.sizeBytes; at += this.callBytes) yield await this.read(path, at, Math.min(this.callBytes, s.sizeBytes - at));
  }

  /** Writes what the source yields, in order, from offset (default 0); resolves with the bytes written. */
  async writeStream(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, offset = 0): Promise<number> {
    let at = offset;
    for await (const piece of source) {
      if (piece.length === 0) continue;
      await this.write(path, at, piece);
      at += piece.length;
    }
    return at - offset;
  }

  /** The file's records, chunk by chunk, each once, skipping padding, partial records and duplicates. */
  async *records(path: string): AsyncGenerator<FoundRecord> {
    const s = await this.fileStat(path);
    const reader = new RecordReader(this.dedupWindow);
    for (let index = 0; index < s.chunks; index++) {
      const start = index * s.chunkSizeBytes;
      const chunk = await this.read(path, start, Math.min(s.chunkSizeBytes, s.sizeBytes - start));
      yield* reader.read(chunk, index);
    }
  }

  private async fileStat(path: string): Promise<Extract<FileStat, { kind: 'file' }>> {
    const s = await this.stat(path);
    if (s.kind !== 'file') throw new GfsClientError(`${path} is a directory`);
    return s;
  }

  private call(msg: ClientMsg): Promise<unknown> {
    return this.ask(this.session, msg, { timeoutMs: this.timeoutMs });
  }
}
