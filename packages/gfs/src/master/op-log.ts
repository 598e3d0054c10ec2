import type { ActorStorage } from '@actorfs/actors';
import { MasterMetadata, type CheckpointPiece } from './metadata.ts';
import { recordShapeProblem, type MetadataRecord } from './records.ts';

export type LogStorage = Pick<ActorStorage, 'get' | 'put' | 'delete' | 'range'>;

const LOG = 'log';
const CHECKPOINT = 'ckpt';
const HEAD = 'ckpt-head';
/** The newest complete checkpoint: it covers log records up to and including `seq`, in `pieces` pieces. */
interface CheckpointHead {
  seq: number;
  pieces: number;
}

/**
 * A checkpoint being written: a copy of the metadata as of log record `seq`, taken in one turn,
 * whose pieces are then written a few per turn while mutations go on (they append records after
 * `seq`, which the checkpoint does not cover and recovery replays).
 */
export interface PendingCheckpoint {
  readonly seq: number;
  readonly pieces: readonly CheckpointPiece[];
  written: number;
}

/**
 * The master's operation log and checkpoints in its storage. Records are numbered. A checkpoint's
 * pieces land first; its head, written after the last piece, makes it the newest, and only then
 * are the records and the older checkpoint it covers deleted. A crash anywhere leaves either the
 * old checkpoint with its log or the new one with its own; pieces of an unfinished checkpoint are
 * deleted at recovery. Recovery loads the newest checkpoint and replays the records after it.
 */
export class OpLog {
  private constructor(
    private readonly storage: LogStorage,
    private nextSeq: number,
    private sinceCheckpoint: number,
  ) {}

  static recover(storage: LogStorage): { log: OpLog; metadata: MasterMetadata } {
    const head = storage.get<CheckpointHead>([HEAD]);
    // pieces of a checkpoint a crash cut short would otherwise be read with the next one of that seq
    for (const { key } of storage.range({ start: [CHECKPOINT], end: [`${CHECKPOINT}\u0000`] })) if (key[1] !== head?.seq) storage.delete(key);
    const metadata = head
      ? MasterMetadata.restore(storage.range<CheckpointPiece>({ start: [CHECKPOINT, head.seq], end: [CHECKPOINT, head.seq + 1] }).map((r) => r.value))
      : new MasterMetadata();
    let seq = head?.seq ?? 0;
    const records = storage.range<MetadataRecord>({ start: [LOG, seq + 1], end: [`${LOG}\u0000`] });
    for (const { key, value } of records) {
      const problem = recordShapeProblem(value);
      if (problem) throw new Error(`op log record ${String(key[1])} is damaged: ${problem}`);
      metadata.apply(value);
      seq = key[1] as number;
    }
    return { log: new OpLog(storage, seq + 1, records.length), metadata };
  }

  /** Appends a record (durable with the node's next commit; reply with replyWhenDurable). */
  append(record: MetadataRecord): void {
    this.storage.put([LOG, this.nextSeq++], record);
    this.sinceCheckpoint++;
  }

  /** The sequence number of the newest record appended (0 before any). */
  get position(): number {
    return this.nextSeq - 1;
  }

  get recordsSinceCheckpoint(): number {
    return this.sinceCheckpoint;
  }

  /** The number of the newest record (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The record number the newest checkpoint covers up to (0 without one). */
  get checkpointSeq(): number {
    return this.storage.get<CheckpointHead>([HEAD])?.seq ?? 0;
  }

  /** Up to `max` records from `fromSeq` on (records covered by the checkpoint are gone). */
  readFrom(fromSeq: number, max: number): MetadataRecord[] {
    return this.storage.range<MetadataRecord>({ start: [LOG, fromSeq], end: [`${LOG}\u0000`], limit: max }).map((r) => r.value);
  }

  /** The newest checkpoint's pieces (empty without one). */
  checkpointPieces(): CheckpointPiece[] {
    const head = this.storage.get<CheckpointHead>([HEAD]);
    return head ? this.storage.range<CheckpointPiece>({ start: [CHECKPOINT, head.seq], end: [CHECKPOINT, head.seq + 1] }).map((r) => r.value) : [];
  }

  /**
   * Replaces the whole log with another master's checkpoint (covering records up to `seq`): every
   * record and checkpoint here goes, in the same turn, so a crash leaves one or the other.
   */
  static install(storage: LogStorage, seq: number, pieces: CheckpointPiece[]): { log: OpLog; metadata: MasterMetadata } {
    const metadata = MasterMetadata.restore(pieces); // a foreign or incomplete checkpoint throws before anything changes
    for (const { key } of storage.range({ start: [LOG, 0], end: [`${LOG}\u0000`] })) storage.delete(key);
    for (const { key } of storage.range({ start: [CHECKPOINT], end: [`${CHECKPOINT}\u0000`] })) storage.delete(key);
    pieces.forEach((piece, i) => storage.put([CHECKPOINT, seq, i], piece));
    storage.put([HEAD], { seq, pieces: pieces.length } satisfies CheckpointHead);
    return { log: new OpLog(storage, seq + 1, 0), metadata };
  }

  /** Copies `metadata`, which must reflect every appended record; undefined when the newest checkpoint already covers them. */
  startCheckpoint(metadata: MasterMetadata, rowsPerPiece: number): PendingCheckpoint | undefined {
    const seq = this.nextSeq - 1;
    if (this.storage.get<CheckpointHead>([HEAD])?.seq === seq) return undefined;
    return { seq, pieces: metadata.checkpoint(rowsPerPiece), written: 0 };
  }

  /** Writes the next `count` pieces; true once every piece is written and the checkpoint made the newest. */
  writePieces(c: PendingCheckpoint, count: number): boolean {
    for (const end = Math.min(c.pieces.length, c.written + count); c.written < end; c.written++) this.storage.put([CHECKPOINT, c.seq, c.written], c.pieces[c.written]);
    if (c.written < c.pieces.length) return false;
    const old = this.storage.get<CheckpointHead>([HEAD]);
    this.storage.put([HEAD], { seq: c.seq, pieces: c.pieces.length } satisfies CheckpointHead);
    if (old && old.seq !== c.seq) for (let i = 0; i < old.pieces; i++) this.storage.delete([CHECKPOINT, old.seq, i]);
    for (const { key } of this.storage.range({ start: [LOG, 0], end: [LOG, c.seq + 1] })) this.storage.delete(key);
    this.sinceCheckpoint = this.nextSeq - 1 - c.seq;
    return true;
  }
}
