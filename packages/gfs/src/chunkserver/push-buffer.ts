/**
 * Pushed data waiting for the write that orders it, by data id. Bounded in bytes: making room
 * drops the least recently used entries (complete or not); an entry unused for pushTimeoutMs is
 * dropped by `expire`. What was dropped is returned, so its stream and waiters can be told.
 */
export class PushBufferError extends Error {
  override readonly name = 'PushBufferError';
}

interface Entry {
  pieces: Uint8Array[];
  bytes: number;
  complete: boolean;
  usedMs: number;
}

export class PushBuffer {
  /** In least-recently-used order (an entry is moved to the end when used). */
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(private readonly limits: { pushBufferBytes: number; pushTimeoutMs: number }) {}

  get bytes(): number {
    return this.totalBytes;
  }

  /** Starts (or restarts, for a pushed-again id) an entry. */
  begin(dataId: string, nowMs: number): void {
    this.drop(dataId);
    this.entries.set(dataId, { pieces: [], bytes: 0, complete: false, usedMs: nowMs });
  }

  /** Adds a piece; returns the ids dropped to make room. Refuses a piece to an unknown or complete entry, or one the whole buffer cannot hold. */
  add(dataId: string, piece: Uint8Array, nowMs: number): string[] {
    const e = this.touch(dataId, nowMs);
    if (!e || e.complete) throw new PushBufferError(`no push of ${dataId} is open here`);
    if (e.bytes + piece.length > this.limits.pushBufferBytes) {
      this.drop(dataId);
      throw new PushBufferError(`push ${dataId} is over the buffer's ${this.limits.pushBufferBytes} bytes`);
    }
    const dropped: string[] = [];
    for (const [id] of this.entries) {
      if (this.totalBytes + piece.length <= this.limits.pushBufferBytes) break;
      if (id === dataId) continue;
      this.drop(id);
      dropped.push(id);
    }
    e.pieces.push(piece);
    e.bytes += piece.length;
    this.totalBytes += piece.length;
    return dropped;
  }

  complete(dataId: string, nowMs: number): void {
    const e = this.touch(dataId, nowMs);
    if (e) e.complete = true;
  }

  isComplete(dataId: string): boolean {
    return this.entries.get(dataId)?.complete === true;
  }

  has(dataId: string): boolean {
    return this.entries.has(dataId);
  }

  /** The complete data of an id as the pieces it arrived in (not joined: the block store copies each once), removed from the buffer (a write uses it once); undefined if it is not here in full. */
  take(dataId: string): readonly Uint8Array[] | undefined {
    const e = this.entries.get(dataId);
    if (!e?.complete) return undefined;
    this.drop(dataId);
    return e.pieces;
  }

  /** The complete data's length, without taking it. */
  lengthOf(dataId: string): number | undefined {
    const e = this.entries.get(dataId);
    return e?.complete ? e.bytes : undefined;
  }

  drop(dataId: string): void {
    const e = this.entries.get(dataId);
    if (!e) return;
    this.entries.delete(dataId);
    this.totalBytes -= e.bytes;
  }

  /** Drops entries unused for pushTimeoutMs; returns their ids. */
  expire(nowMs: number): string[] {
    const gone: string[] = [];
    for (const [id, e] of this.entries) if (e.usedMs + this.limits.pushTimeoutMs <= nowMs) gone.push(id);
    for (const id of gone) this.drop(id);
    return gone;
  }

  private touch(dataId: string, nowMs: number): Entry | undefined {
    const e = this.entries.get(dataId);
    if (!e) return undefined;
    e.usedMs = nowMs;
    this.entries.delete(dataId);
    this.entries.set(dataId, e);
    return e;
  }
}
