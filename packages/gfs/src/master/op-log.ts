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

  /** The sequence number of the newest record appended (0 before any). */
  get position(): number {
    return this.nextSeq - 1;
  }

  get recordsSinceCheckpoint(): number {
    return this.sinceCheckpoint;
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
