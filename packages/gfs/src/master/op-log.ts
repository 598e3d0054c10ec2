import type { ActorStorage } from '@actorfs/actors';
import { MasterMetadata, type CheckpointPiece } from './metadata.ts';
import { recordShapeProblem, type MetadataRecord } from './records.ts';

export type LogStorage = Pick<ActorStorage, 'get' | 'put' | 'delete' | 'range'>;

const LOG = 'log';
const CHECKPOINT = 'ckpt';
const HEAD = 'ckpt-head';
/** The newest checkpoint: it covers log records up to and including `seq`, in `pieces` pieces. */
interface CheckpointHead {
  seq: number;
  pieces: number;
}

/**
 * The master's operation log and checkpoints in its storage. Records are numbered; a checkpoint
 * is written as pieces, then its head, then the records and the checkpoint it covers are
 * deleted, all in one turn, so they land in commit order and a crash anywhere leaves either the
 * old checkpoint with its log or the new one with its own. Recovery loads the newest checkpoint
 * and replays the records after it.
 */
export class OpLog {
  private constructor(
    private readonly storage: LogStorage,
    private nextSeq: number,
    private sinceCheckpoint: number,
  ) {}

  static recover(storage: LogStorage): { log: OpLog; metadata: MasterMetadata } {
    const head = storage.get<CheckpointHead>([HEAD]);
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

  /** Checkpoints `metadata`, which must reflect every appended record. Returns the pieces written. */
  checkpoint(metadata: MasterMetadata, rowsPerPiece: number): number {
    const seq = this.nextSeq - 1;
    const old = this.storage.get<CheckpointHead>([HEAD]);
    if (old?.seq === seq) return 0;
    const pieces = metadata.checkpoint(rowsPerPiece);
    pieces.forEach((piece, i) => this.storage.put([CHECKPOINT, seq, i], piece));
    this.storage.put([HEAD], { seq, pieces: pieces.length } satisfies CheckpointHead);
    if (old) for (let i = 0; i < old.pieces; i++) this.storage.delete([CHECKPOINT, old.seq, i]);
    for (const { key } of this.storage.range({ start: [LOG, 0], end: [LOG, seq + 1] })) this.storage.delete(key);
    this.sinceCheckpoint = 0;
    return pieces.length;
  }
}
