import { handOver } from '@actorfs/actors';
import type { ChunkHandle } from '../master/records.ts';
import type { ChunkserverMsg } from '../protocol.ts';
import { ChecksumError, type ChunkBlockStore } from './block-store.ts';
import { RetryableError } from './mutations.ts';

type ReadMsg = Extract<ChunkserverMsg, { type: 'read' }>;
type ReadDataMsg = Extract<ChunkserverMsg, { type: 'read-data' }>;

/**
 * Reads of stored chunks, every block verified before data leaves. A bad block is reported
 * (the master has the replica replaced) before the reader gets the error.
 */
export class ReplicaReads {
  constructor(
    private readonly store: ChunkBlockStore,
    private readonly reportBadReplica: (handle: ChunkHandle, reason: string) => void,
  ) {}

  /** A clone's read: the bytes in one array. */
  read(msg: ReadMsg): Uint8Array {
    return this.verified(msg.handle, () => this.store.read(msg.handle, msg.offset, msg.length));
  }

  /** A client's read: version-checked, the bytes this replica has of the range (fewer at its end), in one array. */
  readData(msg: ReadDataMsg): Uint8Array[] {
    const info = this.store.info(msg.handle);
    if (!info) throw new RetryableError(`chunk ${msg.handle} is not here`);
    if (info.version !== msg.version) throw new RetryableError(`chunk ${msg.handle}: this replica is at version ${info.version}, not ${msg.version}`);
    if (!Number.isSafeInteger(msg.offset) || !Number.isSafeInteger(msg.length) || msg.offset < 0 || msg.length < 0) {
      throw new Error(`read-data: bad range: offset ${String(msg.offset)}, length ${String(msg.length)}`);
    }
    const length = Math.max(0, Math.min(msg.length, info.lengthBytes - msg.offset));
    // a range wholly past this replica's end (a hole, or mutations it missed): no bytes, not an error, so
    // the reader goes on to another replica, or reads zeros where none holds any
    if (length === 0) return [];
    // a fresh array nothing here keeps: the transport moves it to the reader's thread as it is
    return [handOver(this.verified(msg.handle, () => this.store.read(msg.handle, msg.offset, length)))];
  }

  /** A clone's comparison: each block's CRC-32, every block verified. */
  crcs(handle: ChunkHandle): number[] {
    return this.verified(handle, () => this.store.blockCrcs(handle));
  }

  private verified<T>(handle: ChunkHandle, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof ChecksumError) this.reportBadReplica(handle, err.message);
      throw err;
    }
  }
}
