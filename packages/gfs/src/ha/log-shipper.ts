import { DeliveryError, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import type { Sequencer } from '@actorfs/lockservice';
import { MasterMetadata, type CheckpointPiece } from '../master/metadata.ts';
import type { OpLog } from '../master/op-log.ts';
import type { MetadataRecord } from '../master/records.ts';
import type { MasterMsg } from '../protocol.ts';
import type { HaTiming, MasterReplica } from './ha-config.ts';
import type { AppendAck, Term } from './ha-protocol.ts';
import { generationOf } from './terms.ts';

interface Peer extends MasterReplica {
  /** The replica's log is known to end at `acked` (if `known`), synced and matching ours up to there. */
  acked: number;
  known: boolean;
  /** Records up to here are sent (in flight or acknowledged) in the current stream. */
  sent: number;
  /** Appends of the current stream not answered yet, at most maxAppendsInFlight. */
  inFlight: number;
  /** Bumped when the appends in flight are given up (one failed or did not fit): their answers are dropped. */
  stream: number;
  installing: boolean;
  needsInstall: boolean;
  lastSentMs: number;
  /** Since when it has lacked a record we have (undefined while caught up). */
  behindSinceMs: number | undefined;
  /** A smoothed append round trip: a backup silent for many of them is taken for dead (see silentLimitMs). */
  rttMs: number | undefined;
}

/** A backup that has acknowledged nothing for this many of its smoothed round trips (while lacking records) is taken for dead. */
const SILENT_ROUND_TRIPS = 20;
/** The weight of the smoothed round trip against a new sample. */
const RTT_SMOOTHING = 0.8;

/** What waits for a record to be replicated: a mutation's reply, or an order naming what the record logged. */
type Waiting = { seq: number } & ({ kind: 'reply'; to: ReplyHandle; value: unknown } | { kind: 'send'; to: ActorRef<unknown>; msg: unknown });

/**
 * The master's side of log replication. Records go to each replica as soon as they are logged,
 * while our own commit syncs: up to maxAppendsInFlight appends at once per replica, each
 * continuing the one before (a replica applies them in order and answers each after its synced
 * commit). An append that fails or does not fit ends the stream: its answers still in flight are
 * dropped and the next append starts from what the replica has. A replica whose log does not
 * continue ours gets our checkpoint piece by piece and then the records after it.
 *
 * A mutation's reply waits until our own log is synced and every backup in the ack set has
 * acknowledged its record. The ack set grows as soon as a backup holds every record acknowledged
 * so far, and the in-sync list in the lock file after it; a backup that is down, or silent for many of its round trips,
 * leaves the list in the file first and the ack set after, so whoever can win the lock holds every
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
  private dropCount = 0;
  /** The newest record a client has been told is done (all of ours at the start: the last master may have told them). */
  private acknowledgedSeq: number;

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
    this.peers = opts.peers.map((p) => ({
      ...p,
      acked: last,
      known: false,
      sent: last,
      inFlight: 0,
      stream: 0,
      installing: false,
      needsInstall: false,
      lastSentMs: -Infinity,
      behindSinceMs: undefined,
      rttMs: undefined,
    }));
    this.ackSet = new Set(opts.inSync.filter((n) => this.peers.some((p) => p.name === n && p.role === 'backup')));
    this.written = [...opts.inSync];
    this.localSynced = last;
    this.syncRequested = last;
    this.tailStart = last + 1;
    this.acknowledgedSeq = last;
    for (const p of this.peers) if (this.ackSet.has(p.name)) p.behindSinceMs = ctx.now();
  }

  get inSync(): string[] {
    return [...this.ackSet].sort();
  }

  /** Backups that left the ack set (down or silent) in this term. */
  get drops(): number {
    return this.dropCount;
  }

  get full(): boolean {
    return this.waiting.length >= this.opts.timing.maxWaitingReplies;
  }

  /** A record was appended to our log (this turn): it ships once the mailbox has had its turn. */
  appended(record: MetadataRecord): void {
    const log = this.opts.log();
    this.tail.push(record);
    // trimmed in slices, not a record at a time: a splice moves the whole tail
    if (this.tail.length >= 2 * this.opts.timing.tailRecords) {
      this.tail.splice(0, this.tail.length - this.opts.timing.tailRecords);
      this.tailStart = log.lastSeq - this.tail.length + 1;
    }
    const now = this.ctx.now();
    for (const p of this.peers) p.behindSinceMs ??= now;
    if (!this.shipScheduled) {
      this.shipScheduled = true;
      this.ctx.send(this.ctx.self, { type: 'ha-ship' });
    }
  }

  /** Answers a mutation once its record (the newest now) is everywhere it must be. */
  replyWhenReplicated(to: ReplyHandle | undefined, value: unknown): void {
    if (!to) return;
    this.waiting.push({ seq: this.opts.log().lastSeq, kind: 'reply', to, value });
    this.release();
  }

  /** Sends `msg` once the newest record now is everywhere it must be (dropped if this master steps down first). */
  sendWhenReplicated(to: ActorRef<unknown>, msg: unknown): void {
    this.waiting.push({ seq: this.opts.log().lastSeq, kind: 'send', to, msg });
    this.release();
  }

  synced(seq: number): void {
    if (seq < 0) this.ctx.log.error('the op log could not be synced; replies wait');
    else this.localSynced = Math.max(this.localSynced, seq);
    this.release();
  }

  /** Ships to every replica what it lacks (or a ping), and drops backups silent too long. */
  ship(scheduled: boolean): void {
    if (scheduled) this.shipScheduled = false;
    const last = this.opts.log().lastSeq;
    if (this.syncRequested < last) {
      // one wait for our own sync per batch; the appends below leave before that commit starts
      const seq = (this.syncRequested = last);
      this.ctx.pipeToSelf(this.ctx.storage.flushed(), (r) => (r.ok ? { type: 'ha-synced', seq } : { type: 'ha-synced', seq: -1 }));
    }
    this.writeFile();
    const now = this.ctx.now();
    for (const p of this.peers) {
      if (this.ackSet.has(p.name) && p.behindSinceMs !== undefined && now - p.behindSinceMs > this.silentLimitMs(p)) this.dropFromInSync(p, 'silent');
      this.shipTo(p, now, last);
    }
  }

  acked(peerName: string, stream: number, sentAtMs: number, ack: AppendAck | null, error: { message: string; down: boolean } | undefined): void {
    const p = this.peers.find((x) => x.name === peerName);
    if (!p || stream !== p.stream) return;
    p.inFlight--;
    const log = this.opts.log();
    const now = this.ctx.now();
    if (ack === null) {
      this.endStream(p);
      p.known = false;
      if (error) this.ctx.log.debug('append not acknowledged', { peer: p.name, error: error.message });
      if (error?.down && this.ackSet.has(p.name)) this.dropFromInSync(p, 'down');
    } else if (ack.matched || this.continuesOurs(ack)) {
      if (ack.matched && p.known) {
        p.rttMs = p.rttMs === undefined ? now - sentAtMs : RTT_SMOOTHING * p.rttMs + (1 - RTT_SMOOTHING) * (now - sentAtMs);
        if (ack.lastSeq > p.acked) p.behindSinceMs = now; // progress: alive
        p.acked = Math.max(p.acked, ack.lastSeq);
      } else {
        // a probe's answer, or an append that did not fit a log that still continues ours: go on from its end
        p.acked = ack.lastSeq;
        this.endStream(p);
        p.known = true;
      }
      if (p.acked >= log.lastSeq) p.behindSinceMs = undefined;
      if (p.role === 'backup' && p.acked >= this.acknowledgedSeq && (!this.ackSet.has(p.name) || this.dropping.has(p.name))) {
        // it holds every record acknowledged so far, and replies wait for it from now on (under
        // steady load a backup is never level with our newest record: records are always in flight)
        this.ackSet.add(p.name);
        this.dropping.delete(p.name);
        this.writeFile();
      }
    } else {
      this.endStream(p);
      p.needsInstall = true;
    }
    this.release();
    // after a failure the next poll tries again (at once, a replica whose node is down would be asked in a loop)
    if (ack !== null) this.shipTo(p, now, log.lastSeq);
  }

  installed(peerName: string, seq: number, ok: boolean): void {
    const p = this.peers.find((x) => x.name === peerName);
    if (!p) return;
    p.installing = false;
    if (ok) {
      p.needsInstall = false;
      p.acked = seq;
      p.known = true;
      this.endStream(p);
      this.shipTo(p, this.ctx.now(), this.opts.log().lastSeq);
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
    for (const w of this.waiting.splice(0)) {
      if (w.kind === 'reply') this.ctx.replyErrorTo(w.to, `the master stepped down before its record was replicated (the mutation may or may not take effect): ${reason}`);
    }
  }

  /** Backups leaving the in-sync set: still waited for until the file no longer names them. */
  private readonly dropping = new Set<string>();

  private dropFromInSync(p: Peer, why: 'down' | 'silent'): void {
    if (this.dropping.has(p.name)) return;
    this.ctx.log.warn(`backup ${why}: leaving the in-sync set`, { peer: p.name, behindMs: p.behindSinceMs === undefined ? 0 : this.ctx.now() - p.behindSinceMs });
    this.dropping.add(p.name);
    this.writeFile();
  }

  /**
   * How long a backup may lack records without acknowledging any before it leaves the in-sync
   * set: many of its recent round trips, within [minBackupAckTimeoutMs, backupAckTimeoutMs].
   */
  private silentLimitMs(p: Peer): number {
    const { minBackupAckTimeoutMs: min, backupAckTimeoutMs: max } = this.opts.timing;
    if (p.rttMs === undefined) return max;
    return Math.min(max, Math.max(min, SILENT_ROUND_TRIPS * p.rttMs));
  }

  private settleDrops(): void {
    for (const n of this.dropping) {
      if (this.written.includes(n)) continue;
      this.ackSet.delete(n);
      this.dropping.delete(n);
      this.dropCount++;
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
    if (n > 0) this.acknowledgedSeq = this.waiting[n - 1]!.seq;
    for (const w of this.waiting.splice(0, n)) {
      if (w.kind === 'reply') this.ctx.replyTo(w.to, w.value);
      else this.ctx.send(w.to, w.msg);
    }
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

  /** The appends in flight are given up: their answers will be dropped, and the next append starts from what the replica acknowledged. */
  private endStream(p: Peer): void {
    p.stream++;
    p.inFlight = 0;
    p.sent = p.acked;
  }

  /**
   * What the replica needs now: the checkpoint; a probe when where its log ends is not known;
   * else the records it lacks, in appends of up to maxRecordsPerAppend while fewer than
   * maxAppendsInFlight are in flight; else, when idle, a ping.
   */
  private shipTo(p: Peer, now: number, last: number): void {
    if (p.installing) return;
    if (p.needsInstall) return this.install(p);
    if (!p.known) {
      if (p.inFlight === 0) this.append(p, Math.min(p.acked, last), []);
      return;
    }
    while (p.inFlight < this.opts.timing.maxAppendsInFlight && p.sent < last) {
      const records = this.recordsFrom(p.sent + 1);
      if (records === undefined) {
        this.endStream(p);
        p.needsInstall = true;
        return this.install(p);
      }
      this.append(p, p.sent, records);
    }
    if (p.inFlight === 0 && now - p.lastSentMs >= this.opts.timing.pingIntervalMs) this.append(p, p.sent, []);
  }

  private append(p: Peer, prevSeq: number, records: MetadataRecord[]): void {
    const log = this.opts.log();
    p.inFlight++;
    p.sent = prevSeq + records.length;
    const sentAtMs = (p.lastSentMs = this.ctx.now());
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
    const { name, stream } = p;
    const generation = this.opts.sequencer.generation;
    this.ctx.pipeToSelf(this.ctx.ask(p.ref, msg, { timeoutMs: this.opts.timing.backupAckTimeoutMs }), (r) =>
      r.ok
        ? { type: 'ha-acked', peer: name, stream, sentAtMs, ack: r.value, generation }
        : { type: 'ha-acked', peer: name, stream, sentAtMs, ack: null, error: { message: r.error.message, down: r.error instanceof DeliveryError && r.error.reason === 'node-down' }, generation },
    );
  }

  /** Our checkpoint (or an empty one at 0), one piece per request; the records after it follow as appends. */
  private install(p: Peer): void {
    const log = this.opts.log();
    const seq = log.checkpointSeq;
    const pieces: CheckpointPiece[] = seq > 0 ? log.checkpointPieces() : new MasterMetadata().checkpoint(this.opts.checkpointRows);
    const terms = this.opts.terms();
    p.installing = true;
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
