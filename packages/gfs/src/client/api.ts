import type { ActorRef, AskOptions } from '@actorfs/actors';
import { RecordReader, type FoundRecord } from '../append/record.ts';
import { joined } from './joined.ts';
import type { ClientMsg, FileStat, ListEntry } from './protocol.ts';
import { GfsClientError } from './retry.ts';
import { MAX_READ_CALL_BYTES } from './file-ops.ts';

/** How the API reaches its session actor: `system.ask`, `sim.ask` or `ctx.ask`, bound. */
export type GfsAsker = (ref: ActorRef<ClientMsg>, msg: ClientMsg, opts: AskOptions) => Promise<unknown>;

export interface GfsClientOptions {
  /** How long one call to the session may take (it retries inside). Default 120 s. */
  timeoutMs?: number;
  /** Bytes per call to the session (well below the runtime's message limit). Default 4 MiB. */
  callBytes?: number;
  /**
   * Bytes per read call to the session: each call costs the reader's thread a round trip's work
   * whatever its size, so reads take larger ones. Default callBytes if that is given (at most the
   * session's limit per call), else 12 MiB (three of the session's 4 MiB read pieces).
   */
  readCallBytes?: number;
  /** Record ids the record reader remembers to drop duplicates. Default 100,000. */
  recordDedupWindow?: number;
  /** Calls of one large read or write in flight at once (each a round trip the others overlap). Default 4. */
  callsInFlight?: number;
}

/**
 * The GFS client's promise API over a client-session actor (spawn `ClientSession`). Large reads
 * and writes are cut into calls (of readCallBytes and of callBytes), callsInFlight of them at once;
 * the session splits them further at chunk boundaries and retries each step.
 */
export class GfsClient {
  private readonly timeoutMs: number;
  private readonly callBytes: number;
  private readonly readCallBytes: number;
  private readonly dedupWindow: number;
  private readonly callsInFlight: number;

  constructor(
    readonly session: ActorRef<ClientMsg>,
    private readonly ask: GfsAsker,
    opts: GfsClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.callBytes = opts.callBytes ?? 4 * 1024 * 1024;
    this.readCallBytes = opts.readCallBytes ?? (opts.callBytes === undefined ? 12 * 1024 * 1024 : Math.min(opts.callBytes, MAX_READ_CALL_BYTES));
    this.dedupWindow = opts.recordDedupWindow ?? 100_000;
    this.callsInFlight = opts.callsInFlight ?? 4;
    if (!Number.isSafeInteger(this.readCallBytes) || this.readCallBytes < 1 || this.readCallBytes > MAX_READ_CALL_BYTES) {
      throw new GfsClientError(`readCallBytes must be an integer from 1 to ${MAX_READ_CALL_BYTES} (got ${String(this.readCallBytes)})`);
    }
    if (!Number.isSafeInteger(this.callsInFlight) || this.callsInFlight < 1) throw new GfsClientError(`callsInFlight must be a positive integer (got ${String(opts.callsInFlight)})`);
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
    if (length <= this.readCallBytes) return this.readCall(path, offset, length);
    return joined(await this.readPieces(path, offset, length));
  }

  /**
   * Bytes [offset, offset + length) in the pieces they arrived in, in order (joined, they are the
   * read): for a caller that can take pieces, the bytes as received, never copied into one array.
   */
  async readPieces(path: string, offset: number, length: number): Promise<Uint8Array[]> {
    const spans = this.spans(length, this.readCallBytes);
    const calls = new Array<Uint8Array[]>(spans.length);
    await this.windowed(spans, ({ at, n }, i) => this.readPiecesCall(path, offset + at, n).then((pieces) => void (calls[i] = pieces)));
    return calls.flat();
  }

  /**
   * Writes data at offset. Its calls run callsInFlight at once, so a failure may leave any of its
   * parts written or not (the region is undefined, as after any failed GFS write).
   */
  async write(path: string, offset: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) throw new GfsClientError(`write to ${path}: zero bytes (nothing to write)`);
    await this.windowed(this.spans(data.length), ({ at, n }) => this.call({ type: 'write', path, offset: offset + at, data: data.subarray(at, at + n) }));
  }

  /** Appends one record, atomically and at least once; resolves with the file offset it landed at. */
  append(path: string, payload: Uint8Array, id?: string): Promise<number> {
    return this.call({ type: 'append', path, payload, ...(id === undefined ? {} : { id }) }) as Promise<number>;
  }

  /** The whole file, piece by piece, the next pieces read while one is consumed (for a Node stream: `Readable.from(client.readStream(path))`). */
  async *readStream(path: string): AsyncGenerator<Uint8Array> {
    const s = await this.fileStat(path);
    const spans = this.spans(s.sizeBytes, this.readCallBytes);
    const ahead: Array<Promise<Uint8Array>> = [];
    const readNext = (): void => {
      const next = spans.shift();
      if (!next) return;
      const read = this.readCall(path, next.at, next.n);
      read.catch(() => {}); // awaited in turn below; a read that fails after the consumer stopped must not go unhandled
      ahead.push(read);
    };
    for (let i = 0; i < this.callsInFlight; i++) readNext();
    for (let piece = ahead.shift(); piece; piece = ahead.shift()) {
      const bytes = await piece;
      readNext();
      yield bytes;
    }
  }

  /**
   * Writes what the source yields, in order, from offset (default 0), in calls of callBytes,
   * callsInFlight at once (so a piece must not be changed after it is yielded); resolves with the
   * bytes written. After a failure no more calls start; it is thrown once those running are done.
   */
  async writeStream(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, offset = 0): Promise<number> {
    let at = offset;
    const inFlight = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    for await (const piece of source) {
      for (const { at: from, n } of this.spans(piece.length)) {
        if (inFlight.size >= this.callsInFlight) await Promise.race(inFlight);
        if (failure) break;
        const call = this.call({ type: 'write', path, offset: at + from, data: piece.subarray(from, from + n) }).then(
          () => void inFlight.delete(call),
          (err: unknown) => {
            inFlight.delete(call);
            failure ??= { err };
          },
        );
        inFlight.add(call);
      }
      if (failure) break;
      at += piece.length;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.err;
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

  private readCall(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.call({ type: 'read', path, offset, length }) as Promise<Uint8Array>;
  }

  private readPiecesCall(path: string, offset: number, length: number): Promise<Uint8Array[]> {
    return this.call({ type: 'read-pieces', path, offset, length }) as Promise<Uint8Array[]>;
  }

  /** [0, length) cut into calls of callBytes (or of size). */
  private spans(length: number, size = this.callBytes): Array<{ at: number; n: number }> {
    const out: Array<{ at: number; n: number }> = [];
    for (let at = 0; at < length; at += size) out.push({ at, n: Math.min(size, length - at) });
    return out;
  }

  /** Runs `run` over the spans, callsInFlight at once; after a failure starts no more, and throws it once those running are done. */
  private async windowed(spans: Array<{ at: number; n: number }>, run: (span: { at: number; n: number }, index: number) => Promise<unknown>): Promise<void> {
    let next = 0;
    let failure: { err: unknown } | undefined;
    const lane = async (): Promise<void> => {
      while (next < spans.length && !failure) {
        try {
          const index = next++;
          await run(spans[index]!, index);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.callsInFlight, spans.length) }, lane));
    if (failure) throw failure.err;
  }

  private call(msg: ClientMsg): Promise<unknown> {
    return this.ask(this.session, msg, { timeoutMs: this.timeoutMs });
  }
}
