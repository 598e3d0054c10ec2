import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import type { Sequencer } from '@actorfs/lockservice';
import { MasterMetadata, type CheckpointPiece } from '../master/metadata.ts';
import type { OpLog } from '../master/op-log.ts';
import type { MetadataRecord } from '../master/records.ts';
import type { MasterMsg } from '../protocol.ts';
import type { HaTiming, MasterReplica } from './ha-config.ts';
import type { AppendAck, Term } from './ha-protocol.ts';
import { generationOf } from './terms.ts';

interface Peer extends MasterReplica {
  /** The replica's log is known to end at `acked` (if `known`), matching ours up to there. */
  acked: number;
  known: boolean;
  busy: boolean;
  needsInstall: boolean;
  lastSentMs: number;
  /** Since when it has lacked a record we have (undefined while caught up). */
  behindSinceMs: number | undefined;
}

interface Waiting {
  seq: number;
  to: ReplyHandle;
  value: unknown;
}

/**
 * The master's side of log replication. Every replica gets one request at a time: an append of
 * everything it lacks (up to maxRecordsPerAppend: the batch that forms while the previous one is
 * in flight), or, when its log does not continue ours, our checkpoint piece by piece and then the
 * records after it. A mutation's reply waits until our own log is synced and every backup in the
 * ack set has acknowledged its record. The ack set grows as soon as a backup has caught up, and
 * the in-sync list in the lock file after it; a backup silent for backupAckTimeoutMs leaves the
 * list in the file first and the ack set after, so whoever can win the lock holds every
 * acknowledged record.
 */
export class LogShipper {
  private readonly peers: Peer[];
  private readonly waiting: Waiting[] = [];
  private readonly ackSet: Set<string>;
  /** The in-sync list as last written to the lock file, and whether a write is under way. */
  private written: string[];
  private writing = false;
  private localSynced: number;
  private syncRequested: number;
  private shipScheduled = false;
  private held = false;
  private tail: MetadataRecord[] = [];
  private tailStart: number;

  constructor(
    private readonly ctx: ActorContext<MasterMsg>,
    private readonly opts: {
      timing: HaTiming;
      self: string;
      sequencer: Sequencer;
      peers: MasterReplica[];
      inSync: string[];
      log: () => OpLog;
      terms: () => Term[];
      checkpointRows: number;
      writeInSync: (inSync: string[]) => void;
    },
  ) {
    const last = opts.log().lastSeq;
    this.peers = opts.peers.map((p) => ({ ...p, acked: last, known: false, busy: false, needsInstall: false, lastSentMs: -Infinity, behindSinceMs: undefined }));
    this.ackSet = new Set(opts.inSync.filter((n) => this.peers.some((p) => p.name === n && p.role === 'backup')));
    this.written = [...opts.inSync];
    this.localSynced = last;
    this.syncRequested = last;
    this.tailStart = last + 1;
    for (const p of this.peers) if (this.ackSet.has(p.name)) p.behindSinceMs = ctx.now();
  }

  get inSync(): string[] {
    return [...this.ackSet].sort();
  }

  get full(): boolean {
    return this.waiting.length >= this.opts.timing.maxWaitingReplies;
  }

  /** A record was appended to our log (this turn): it ships once the mailbox has had its turn. */
  appended(record: MetadataRecord): void {
    const log = this.opts.log();
    this.tail.push(record);
    if (this.tail.length > this.opts.timing.tailRecords) {
      this.tail.splice(0, this.tail.length - this.opts.timing.tailRecords);
      this.tailStart = log.lastSeq - this.tail.length + 1;
    }
    const now = this.ctx.now();
    for (const p of this.peers) p.behindSinceMs ??= now;
    if (this.syncRequested < log.lastSeq) {
      const seq = (this.syncRequested = log.lastSeq);
      this.ctx.pipeToSelf(this.ctx.storage.flushed(), (r) => (r.ok ? { type: 'ha-synced', seq } : { type: 'ha-synced', seq: -1 }));
    }
    if (!this.shipScheduled) {
      this.shipScheduled = true;
      this.ctx.send(this.ctx.self, { type: 'ha-ship' });
    }
  }

  /** Answers a mutation once its record (the newest now) is everywhere it must be. */
  replyWhenReplicated(to: ReplyHandle | undefined, value: unknown): void {
    if (!to) return;
    this.waiting.push({ seq: this.opts.log().lastSeq, to, value });
    this.release();
  }

  synced(seq: number): void {
    if (seq < 0) this.ctx.log.error('the op log could not be synced; replies wait');
    else this.localSynced = Math.max(this.localSynced, seq);
    this.release();
  }

  /** Ships to every idle replica what it lacks (or a ping), and drops backups silent too long. */
  ship(scheduled: boolean): void {
    if (scheduled) this.shipScheduled = false;
    const now = this.ctx.now();
    const last = this.opts.log().lastSeq;
    this.writeFile();
    for (const p of this.peers) {
      if (this.ackSet.has(p.name) && p.behindSinceMs !== undefined && now - p.behindSinceMs > this.opts.timing.backupAckTimeoutMs) {
        this.dropFromInSync(p);
      }
      if (p.busy) continue;
      if (p.needsInstall) this.install(p);
      else if (!p.known || p.acked < last || now - p.lastSentMs >= this.opts.timing.pingIntervalMs) this.append(p);
    }
  }

  acked(peerName: string, ack: AppendAck | null, error: string | undefined): void {
    const p = this.peers.find((x) => x.name === peerName);
    if (!p) return;
    p.busy = false;
    const log = this.opts.log();
    if (ack === null) {
      p.known = false;
      if (error) this.ctx.log.debug('append not acknowledged', { peer: p.name, error });
    } else if (ack.matched || this.continuesOurs(ack)) {
      p.acked = ack.lastSeq;
      p.known = true;
      if (p.acked >= log.lastSeq) p.behindSinceMs = undefined;
      if (p.role === 'backup' && p.acked >= log.lastSeq && (!this.ackSet.has(p.name) || this.dropping.has(p.name))) {
        // caught up: it holds every record we may acknowledge from now on
        this.ackSet.add(p.name);
        this.dropping.delete(p.name);
        this.writeFile();
      }
    } else {
      p.needsInstall = true;
    }
    this.release();
    if (p.needsInstall || (p.known && p.acked < log.lastSeq)) this.ship(false);
  }

  installed(peerName: string, seq: number, ok: boolean): void {
    const p = this.peers.find((x) => x.name === peerName);
    if (!p) return;
    p.busy = false;
    if (ok) {
      p.needsInstall = false;
      p.acked = seq;
      p.known = true;
      this.ship(false);
    }
  }

  inSyncWritten(inSync: string[], ok: boolean, error: string | undefined): void {
    this.writing = false;
    if (!ok) return void this.ctx.log.warn('could not write the in-sync list to the lock file (tried again)', { error });
    this.written = inSync;
    this.settleDrops();
    this.release();
    this.writeFile();
  }

  /** Every waiting reply fails: this replica is no longer the master (the outcome is unknown to the client). */
  abandon(reason: string): void {
    for (const w of this.waiting.splice(0)) this.ctx.replyErrorTo(w.to, `the master stepped down before its record was replicated (the mutation may or may not take effect): ${reason}`);
  }

  /** Backups leaving the in-sync set: still waited for until the file no longer names them. */
  private readonly dropping = new Set<string>();

  private dropFromInSync(p: Peer): void {
    if (this.dropping.has(p.name)) return;
    this.ctx.log.warn('backup silent: leaving the in-sync set', { peer: p.name, behindMs: this.ctx.now() - p.behindSinceMs! });
    this.dropping.add(p.name);
    this.writeFile();
  }

  private settleDrops(): void {
    for (const n of this.dropping) {
      if (this.written.includes(n)) continue;
      this.ackSet.delete(n);
      this.dropping.delete(n);
    }
  }

  /** Writes the in-sync list the ack set calls for, one write at a time (ship calls it again after a failure). */
  private writeFile(): void {
    if (this.writing) return;
    const want = [...this.ackSet].filter((n) => !this.dropping.has(n)).sort();
    const written = [...this.written].sort();
    if (want.length === written.length && want.every((n, i) => n === written[i])) return this.settleDrops();
    this.writing = true;
    this.opts.writeInSync(want);
  }

  /** While held (the session in jeopardy), no reply goes out. */
  hold(held: boolean): void {
    this.held = held;
    this.release();
  }

  private release(): void {
    if (this.held) return;
    let committed = this.localSynced;
    for (const p of this.peers) if (this.ackSet.has(p.name)) committed = Math.min(committed, p.known ? p.acked : -1);
    let n = 0;
    while (n < this.waiting.length && this.waiting[n]!.seq <= committed) n++;
    for (const w of this.waiting.splice(0, n)) this.ctx.replyTo(w.to, w.value);
  }

  /** A replica whose log ends at a record we have, from the same master: it continues ours. */
  private continuesOurs(ack: AppendAck): boolean {
    const log = this.opts.log();
    if (ack.lastSeq > log.lastSeq) return false;
    if (ack.lastSeq < Math.min(this.tailStart - 1, log.checkpointSeq)) return false;
    return generationOf(this.opts.terms(), ack.lastSeq) === ack.lastGeneration;
  }

  private recordsFrom(from: number): MetadataRecord[] | undefined {
    const max = this.opts.timing.maxRecordsPerAppend;
    if (from >= this.tailStart) return this.tail.slice(from - this.tailStart, from - this.tailStart + max);
    const log = this.opts.log();
    if (from <= log.checkpointSeq) return undefined;
    return log.readFrom(from, max);
  }

  private append(p: Peer): void {
    const log = this.opts.log();
    const prevSeq = p.known ? p.acked : Math.min(p.acked, log.lastSeq);
    const records = p.known ? this.recordsFrom(prevSeq + 1) : [];
    if (records === undefined) {
      p.needsInstall = true;
      return this.install(p);
    }
    p.busy = true;
    p.lastSentMs = this.ctx.now();
    const terms = this.opts.terms();
    const msg = {
      type: 'ha-append' as const,
      sequencer: this.opts.sequencer,
      from: this.opts.self,
      prevSeq,
      prevGeneration: generationOf(terms, prevSeq),
      records,
      terms,
      masterLastSeq: log.lastSeq,
    };
    const name = p.name;
    this.ctx.pipeToSelf(this.ctx.ask(p.ref, msg, { timeoutMs: this.opts.timing.backupAckTimeoutMs }), (r) =>
      r.ok ? { type: 'ha-acked', peer: name, ack: r.value, generation: this.opts.sequencer.generation } : { type: 'ha-acked', peer: name, ack: null, error: r.error.message, generation: this.opts.sequencer.generation },
    );
  }

  /** Our checkpoint (or an empty one at 0), one piece per request; the records after it follow as appends. */
  private install(p: Peer): void {
    const log = this.opts.log();
    const seq = log.checkpointSeq;
    const pieces: CheckpointPiece[] = seq > 0 ? log.checkpointPieces() : new MasterMetadata().checkpoint(this.opts.checkpointRows);
    const terms = this.opts.terms();
    p.busy = true;
    p.lastSentMs = this.ctx.now();
    const name = p.name;
    const send = async (): Promise<void> => {
      for (const [index, piece] of pieces.entries()) {
        await this.ctx.ask(
          p.ref,
          { type: 'ha-install', sequencer: this.opts.sequencer, from: this.opts.self, seq, index, count: pieces.length, piece, terms },
          { timeoutMs: this.opts.timing.backupAckTimeoutMs },
        );
      }
    };
    this.ctx.pipeToSelf(send(), (r) => ({ type: 'ha-installed', peer: name, seq, ok: r.ok, generation: this.opts.sequencer.generation }));
  }
}
