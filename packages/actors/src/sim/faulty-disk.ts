import { crc32 } from 'node:zlib';
import { MemoryStore } from '../storage/memory-store.ts';
import type { Key, RangeOptions, Write } from '../storage/store.ts';
import type { Random } from '../random.ts';

/** Faults of a simulated disk; each a probability 0..1, drawn from the simulation's seed. */
export interface DiskFaults {
  /** A value is stored with one byte flipped (the disk's checksum catches it on read). */
  corruptWrite?: number;
  /** A read (get, or a range) fails with an I/O error. */
  failRead?: number;
  /** A commit fails: none of its writes is applied. */
  failCommit?: number;
}

/** What a faulty disk raises; actors see it through ctx.storage, as a thrown error or a failed commit. */
export class DiskError extends Error {
  override readonly name = 'DiskError';
}

/**
 * A simulated disk that fails as real ones do: flipped bytes in stored values, failed reads and
 * failed commits, plus what every MemoryStore models (commits not yet synced are lost in a
 * crash). The disk keeps a checksum beside each stored value and checks it on every read, so a
 * flipped byte is an error, never wrong data.
 */
export class FaultyDisk extends MemoryStore {
  /** The checksum of what was meant to be stored, by the bytes actually stored. */
  private readonly checksums = new WeakMap<Uint8Array, number>();
  readonly injected = { corruptWrite: 0, failRead: 0, failCommit: 0 };

  constructor(
    private readonly syncDelay: (done: () => void) => void,
    private readonly faults: DiskFaults,
    private readonly rng: Random,
  ) {
    super(syncDelay);
  }

  override get(key: Key): Uint8Array | undefined {
    this.maybeFailRead();
    const bytes = super.get(key);
    if (bytes !== undefined) this.verify(key, bytes);
    return bytes;
  }

  override range(opts: RangeOptions): Iterable<readonly [Key, Uint8Array]> {
    this.maybeFailRead();
    const rows = [...super.range(opts)];
    for (const [key, bytes] of rows) this.verify(key, bytes);
    return rows;
  }

  override commit(writes: readonly Write[]): Promise<void> {
    if (this.draw(this.faults.failCommit)) {
      this.injected.failCommit++;
      // It fails when its sync would have finished, and a crash before then loses it all the same.
      return new Promise((_, reject) => this.syncDelay(() => reject(new DiskError(`simulated disk: commit of ${writes.length} writes failed`))));
    }
    const stored = writes.map(([key, value]): Write => {
      if (value === undefined) return [key, value];
      let bytes = value;
      if (value.length > 0 && this.draw(this.faults.corruptWrite)) {
        this.injected.corruptWrite++;
        bytes = Uint8Array.prototype.slice.call(value);
        bytes[Math.floor(this.rng() * bytes.length)]! ^= 1 << Math.floor(this.rng() * 8);
      }
      this.checksums.set(bytes, crc32(value));
      return [key, bytes];
    });
    return super.commit(stored);
  }

  private verify(key: Key, bytes: Uint8Array): void {
    const expected = this.checksums.get(bytes);
    if (expected !== undefined && crc32(bytes) !== expected) {
      throw new DiskError(`simulated disk: checksum mismatch in the value of ${JSON.stringify(key)}`);
    }
  }

  private maybeFailRead(): void {
    if (!this.draw(this.faults.failRead)) return;
    this.injected.failRead++;
    throw new DiskError('simulated disk: read failed');
  }

  private draw(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.rng() < p;
  }
}
