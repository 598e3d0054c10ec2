import type { ActorContext, ActorRef, ReplyHandle } from '@actorfs/actors';
import { SequencerGuard, type ClientMsg, type HandleId, type LsClient, type Sequencer } from '@actorfs/lockservice';
import type { CheckpointPiece, MasterMetadata } from '../master/metadata.ts';
import { OpLog } from '../master/op-log.ts';
import type { MetadataRecord } from '../master/records.ts';
import type { MasterMsg } from '../protocol.ts';
import { campaign } from './election.ts';
import { haTiming, masterLockPath, replicasProblem, type HaTiming, type MasterHaProps, type MasterReplica } from './ha-config.ts';
import { encodeMasterFile, NotMasterError, type HaMsg, type HaStatus, type MetadataRead, type MetadataReadResults, type ShadowAnswer, type Term } from './ha-protocol.ts';
import { childLockSession } from './lock-session.ts';
import { LogShipper } from './log-shipper.ts';
import { generationOf, withTerm } from './terms.ts';

const TERMS = 'ha-terms';

/** What the master actor lends its replica role. */
export interface MasterHooks {
  log(): OpLog;
  metadata(): MasterMetadata;
  /** After a checkpoint install, or on taking office (with the state it has): the master goes on from this log and metadata, its forgotten-lease window started again. */
  replace(state: { log: OpLog; metadata: MasterMetadata }): void;
  /** Applies and logs a record as the master's own mutations are (checkpointing when due). */
  mutate(record: MetadataRecord): void;
  read<K extends MetadataRead['type']>(read: MetadataRead & { type: K }): MetadataReadResults[K];
  /** Stepping down: operations in flight fail, and nothing of the term (grants, clones, snapshots, lock waiters) goes on. */
  leaveOffice(reason: string): void;
  /** The longest chunk lease a master grants: a new one waits this long before granting any. */
  leaseMs: number;
  checkpointRows: number;
}

/** How each message a master handles fares at a replica that is not (or not yet) the master. */
type OffDuty = 'refuse' | 'serve' | 'ignore';
const OFF_DUTY: { [T in Exclude<MasterMsg['type'], HaMsg['type']>]: OffDuty } = {
  mkdir: 'refuse',
  create: 'refuse',
  delete: 'refuse',
  undelete: 'refuse',
  rename: 'refuse',
  snapshot: 'refuse',
  list: 'refuse',
  stat: 'refuse',
  'add-chunk': 'refuse',
  locate: 'refuse',
  lease: 'refuse',
  // chunk locations are learned off duty too: shadows answer locate, and a new master starts with them
  'extend-lease': 'refuse',
  heartbeat: 'serve',
  'chunk-created': 'serve',
  status: 'serve',
  checkpoint: 'serve',
  // a backup checkpoints its own log too
  'checkpoint-step': 'serve',
  'durable-reply': 'serve',
  'lease-revoked': 'ignore',
  'revoke-timeout': 'ignore',
  'bad-replica': 'ignore',
  'version-raised': 'ignore',
  'copy-refused': 'ignore',
  'grant-timeout': 'ignore',
  'clone-done': 'ignore',
  scan: 'ignore',
};
const MUTATIONS = new Set<string>(['mkdir', 'create', 'delete', 'undelete', 'rename', 'snapshot', 'add-chunk', 'lease']);

/** Checkpoint pieces being received, at most this many (a bigger checkpoint is refused: raise checkpointPieceRows). */
const MAX_INSTALL_PIECES = 100_000;

/**
 * A master replica's part in high availability. Backups campaign for the master lock; the
 * winner (see `campaign`) replays its log, waits out the longest chunk lease a deposed master
 * could have granted before it grants one, and ships its log (LogShipper). A replica that is not
 * the master appends what the master sends if the sequencer is the newest it has seen, answers
 * reads with its lag, and refuses everything a master does. A master whose lock-service session
 * falls into jeopardy (or expires), or that sees a newer master's sequencer, steps down at once.
 */
export class MasterReplicaRole {
  private readonly timing: HaTiming;
  private readonly me: MasterReplica;
  private readonly guard = new SequencerGuard(1);
  private terms: Term[];
  private session = 0;
  private ls!: LsClient;
  private sessionRef: ActorRef<ClientMsg> | undefined;
  private sequencer: Sequencer | undefined;
  private shipper: LogShipper | undefined;
  private leasesFromMs = 0;
  /** The session is in jeopardy: as master, hold every reply and serve nothing until it is safe again (or expires). */
  private jeopardy = false;
  /** As a follower: the master's newest record as last heard, and when this replica last had all of them. */
  private masterLastSeq = 0;
  private caughtUpAtMs: number;
  private staging: { seq: number; from: string; pieces: CheckpointPiece[] } | undefined;

  constructor(
    private readonly ctx: ActorContext<MasterMsg>,
    private readonly props: MasterHaProps,
    private readonly hooks: MasterHooks,
  ) {
    const problem = replicasProblem(props);
    if (problem) throw new Error(`GFS HA: ${problem}`);
    this.timing = haTiming(props.timing);
    this.me = props.replicas.find((r) => r.name === props.self)!;
    this.terms = ctx.storage.get<Term[]>([TERMS]) ?? [];
    this.caughtUpAtMs = ctx.now();
    ctx.setTimer('ha-poll', this.timing.pollMs, { type: 'ha-poll' }, { repeat: true });
    this.newSession();
  }

  /** The master, and not in jeopardy: it may change metadata and give orders. */
  get serving(): boolean {
    return this.shipper !== undefined && !this.jeopardy;
  }

  /**
   * Called before the master handles a message of its own: true when the replica has dealt with
   * it (ignored it off duty); throws NotMasterError for what only the master does.
   */
  intercept(msg: Exclude<MasterMsg, HaMsg>): boolean {
    if (this.shipper && !this.jeopardy) {
      if (MUTATIONS.has(msg.type) && this.shipper.full) throw new Error(`${this.timing.maxWaitingReplies} mutations already wait for the backups; try again`);
      if (msg.type === 'lease' && this.ctx.now() < this.leasesFromMs) {
        throw new Error(`a new master grants no chunk lease for ${Math.ceil(this.leasesFromMs - this.ctx.now())} ms more (a deposed master's leases may still run); ask again`);
      }
      return false;
    }
    switch (OFF_DUTY[msg.type]) {
      case 'serve':
        return false;
      case 'ignore':
        return true;
      case 'refuse':
        throw new NotMasterError(
          this.shipper
            ? `${this.me.name} is the GFS master but its lock-service session is in jeopardy; ask again`
            : `${this.me.name} is not the GFS master (a ${this.me.role}); find the master through the lock service`,
        );
    }
  }

  /** Applied and logged a record as the master: ship it. */
  appended(record: MetadataRecord): void {
    this.shipper?.appended(record);
  }

  /** The mutation's reply, once every in-sync backup and our own log have its record (without a shipper: once synced). */
  replyLogged(value: unknown): void {
    if (this.shipper) this.shipper.replyWhenReplicated(this.ctx.replyHandle(), value);
    else this.ctx.replyWhenDurable(value);
  }

  /** As replyLogged, for an operation answered after its turn (it waited for namespace locks). */
  replyLoggedTo(to: ReplyHandle, value: unknown): void {
    if (this.shipper) this.shipper.replyWhenReplicated(to, value);
    else this.ctx.replyErrorTo(to, new NotMasterError(`${this.me.name} stepped down before the operation was logged; ask the new master`));
  }

  /** Sends `msg` once every in-sync backup and our own log have the newest record; dropped if this replica is not (or stops being) the master first. */
  sendLogged<M>(to: ActorRef<M>, msg: M): void {
    this.shipper?.sendWhenReplicated(to as ActorRef<unknown>, msg);
  }

  /** Marks an order to a chunkserver with this master's sequencer. */
  fenced<T extends object>(msg: T): T {
    return this.sequencer && this.serving ? { ...msg, sequencer: this.sequencer } : msg;
  }

  receive(msg: HaMsg): void {
    switch (msg.type) {
      case 'ha-append':
        return this.onAppend(msg);
      case 'ha-install':
        return this.onInstall(msg);
      case 'shadow-read':
        return this.ctx.reply(this.shadowAnswer(msg.read));
      case 'ha-status':
        return this.ctx.reply({
          replica: this.me.name,
          role: this.shipper ? 'master' : this.me.role,
          generation: this.sequencer?.generation ?? null,
          lastSeq: this.hooks.log().lastSeq,
          inSync: this.shipper?.inSync ?? [],
          inSyncDrops: this.shipper?.drops ?? 0,
        } satisfies HaStatus);
      case 'ha-elected':
        if (msg.session === this.session) this.takeOffice(msg.won.handle, msg.won.sequencer, msg.won.inSync);
        return;
      case 'ha-campaign-failed':
        if (msg.session !== this.session) return;
        this.ctx.log.warn('campaign failed; a new session campaigns', { error: msg.error });
        return this.newSession();
      case 'ha-events':
        if (msg.session !== this.session) return;
        for (const e of msg.events) {
          if (e.kind === 'expired') return this.sessionLost('lock-service session expired');
          // in jeopardy the lock may be lost: nothing is acknowledged until the session is safe again
          if (e.kind === 'jeopardy' || e.kind === 'safe') this.jeopardy = e.kind === 'jeopardy';
        }
        this.shipper?.hold(this.jeopardy);
        return;
      case 'ha-poll':
        this.pollSession();
        return this.shipper?.ship(false);
      case 'ha-ship':
        return this.shipper?.ship(true);
      case 'ha-synced':
        return this.shipper?.synced(msg.seq);
      case 'ha-acked':
        if (this.shipper && msg.generation === this.sequencer?.generation) this.shipper.acked(msg.peer, msg.stream, msg.sentAtMs, msg.ack, msg.error);
        return;
      case 'ha-installed':
        if (this.shipper && msg.generation === this.sequencer?.generation) this.shipper.installed(msg.peer, msg.seq, msg.ok);
        return;
      case 'ha-in-sync-written':
        if (this.shipper && msg.generation === this.sequencer?.generation) this.shipper.inSyncWritten(msg.inSync, msg.ok, msg.error);
        return;
      default: {
        const never: never = msg;
        this.ctx.unhandled(never);
      }
    }
  }

  private newSession(): void {
    if (this.sessionRef) this.ctx.stop(this.sessionRef as ActorRef<never>);
    const session = ++this.session;
    const { ref, client } = childLockSession(this.ctx, this.props.lock, this.me.name, `${this.ctx.self.id}-ls-session-${session}`);
    this.sessionRef = ref;
    this.ls = client;
    this.jeopardy = false;
    if (this.me.role !== 'backup') return;
    const won = campaign({
      ls: client,
      path: masterLockPath(this.props.lock),
      self: this.me.name,
      address: { node: this.ctx.self.node, id: this.ctx.self.id },
      retryMs: this.timing.ineligibleRetryMs,
      sleep: (ms) => this.ctx.sleep(ms),
      onIneligible: (prior) => this.ctx.log.info('won the lock but may not lead: not in the in-sync set', { prior: prior.name, inSync: prior.inSync.join(',') }),
    });
    this.ctx.pipeToSelf(won, (r) => (r.ok ? { type: 'ha-elected', session, won: r.value } : { type: 'ha-campaign-failed', session, error: r.error.message }));
  }

  private pollSession(): void {
    const session = this.session;
    this.ctx.pipeToSelf(this.ls.watch(), (r) => ({ type: 'ha-events', session, events: r.ok ? r.value.events : [] }));
  }

  private sessionLost(reason: string): void {
    this.stepDown(reason);
    this.newSession();
  }

  private stepDown(reason: string): void {
    if (!this.shipper) return;
    this.ctx.log.warn('stepping down as GFS master', { reason, generation: this.sequencer?.generation });
    this.shipper.abandon(reason);
    this.shipper = undefined;
    this.hooks.leaveOffice(reason);
  }

  /** The lock is ours and we may lead: start the new term, wait out old leases, serve. */
  private takeOffice(handle: HandleId, sequencer: Sequencer, inSync: string[]): void {
    const seen = this.guard.check(sequencer);
    if (!seen.ok) {
      this.ctx.log.warn('won with a sequencer older than one already seen; campaigning again', { error: seen.error.message });
      return this.newSession();
    }
    // the metadata in memory is the log's (every record was applied as it was logged): no replay,
    // which took about 0.1 ms a record; replace only starts the new term's windows
    this.hooks.replace({ log: this.hooks.log(), metadata: this.hooks.metadata() });
    const log = this.hooks.log();
    this.setTerms(withTerm(this.terms, log.lastSeq + 1, sequencer.generation));
    this.sequencer = sequencer;
    this.leasesFromMs = this.ctx.now() + this.hooks.leaseMs;
    const generation = sequencer.generation;
    this.shipper = new LogShipper(this.ctx, {
      timing: this.timing,
      self: this.me.name,
      sequencer,
      peers: this.props.replicas.filter((r) => r.name !== this.me.name),
      inSync,
      log: () => this.hooks.log(),
      terms: () => this.terms,
      checkpointRows: this.hooks.checkpointRows,
      writeInSync: (list) => {
        const file = encodeMasterFile({ master: { node: this.ctx.self.node, id: this.ctx.self.id }, name: this.me.name, generation, inSync: list });
        this.ctx.pipeToSelf(this.ls.setContents(handle, file), (r) =>
          r.ok ? { type: 'ha-in-sync-written', generation, inSync: list, ok: true } : { type: 'ha-in-sync-written', generation, inSync: list, ok: false, error: r.error.message },
        );
      },
    });
    this.ctx.log.info('took office as GFS master', { replica: this.me.name, generation, lastSeq: log.lastSeq, inSync: inSync.join(',') });
    this.shipper.ship(false);
  }

  /** A request from a master: refused if its sequencer is older than the newest seen; a newer one deposes us. */
  private admit(sequencer: Sequencer, from: string): void {
    const checked = this.guard.check(sequencer);
    if (!checked.ok) throw new Error(`refused ${from}'s request: ${checked.error.code}: ${checked.error.message}`);
    if (this.shipper && sequencer.generation !== this.sequencer?.generation) this.sessionLost(`${from} leads with a newer generation (${sequencer.generation})`);
    if (this.shipper) throw new Error(`refused ${from}'s request: ${this.me.name} is the master of generation ${sequencer.generation}`);
  }

  private onAppend(msg: Extract<HaMsg, { type: 'ha-append' }>): void {
    this.admit(msg.sequencer, msg.from);
    const log = this.hooks.log();
    this.masterLastSeq = msg.masterLastSeq;
    if (msg.prevSeq !== log.lastSeq || msg.prevGeneration !== generationOf(this.terms, log.lastSeq)) {
      if (log.lastSeq >= this.masterLastSeq) this.caughtUpAtMs = this.ctx.now();
      // durable: the master may count the records up to lastSeq as ours once it hears this (appends before it may still be syncing)
      return this.ctx.replyWhenDurable({ matched: false, lastSeq: log.lastSeq, lastGeneration: generationOf(this.terms, log.lastSeq) });
    }
    for (const r of msg.records) this.hooks.mutate(r);
    this.setTerms(msg.terms);
    const lastSeq = this.hooks.log().lastSeq;
    if (lastSeq >= this.masterLastSeq) this.caughtUpAtMs = this.ctx.now();
    this.ctx.replyWhenDurable({ matched: true, lastSeq, lastGeneration: generationOf(this.terms, lastSeq) });
  }

  private onInstall(msg: Extract<HaMsg, { type: 'ha-install' }>): void {
    this.admit(msg.sequencer, msg.from);
    if (msg.count > MAX_INSTALL_PIECES) throw new Error(`a checkpoint of ${msg.count} pieces is over the limit of ${MAX_INSTALL_PIECES}`);
    if (msg.index === 0) this.staging = { seq: msg.seq, from: msg.from, pieces: [] };
    const s = this.staging;
    if (!s || s.seq !== msg.seq || s.from !== msg.from || s.pieces.length !== msg.index) {
      this.staging = undefined;
      throw new Error(`checkpoint piece ${msg.index} of ${msg.count} out of order; send the checkpoint again from its first piece`);
    }
    s.pieces.push(msg.piece);
    if (s.pieces.length === msg.count) {
      this.staging = undefined;
      this.hooks.replace(OpLog.install(this.ctx.storage, msg.seq, s.pieces));
      this.setTerms(msg.terms.filter(([start]) => start <= msg.seq + 1));
      this.ctx.log.info('installed the master checkpoint', { seq: msg.seq, from: msg.from });
    }
    this.ctx.replyWhenDurable(true);
  }

  private setTerms(terms: Term[]): void {
    const same = terms.length === this.terms.length && terms.every(([s, g], i) => s === this.terms[i]![0] && g === this.terms[i]![1]);
    if (same) return;
    this.terms = terms.map(([s, g]) => [s, g] as const);
    this.ctx.storage.put([TERMS], this.terms);
  }

  private shadowAnswer(read: MetadataRead): ShadowAnswer<MetadataReadResults[MetadataRead['type']]> {
    const answer = this.hooks.read(read);
    if (this.shipper) return { answer, lagRecords: 0, lagMs: 0, replica: this.me.name };
    const lagRecords = Math.max(0, this.masterLastSeq - this.hooks.log().lastSeq);
    return { answer, lagRecords, lagMs: Math.max(0, this.ctx.now() - this.caughtUpAtMs), replica: this.me.name };
  }
}
