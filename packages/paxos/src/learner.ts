import { createHash } from 'node:crypto';
import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { highestBallotPerSlot, type Ballot } from './ballot.ts';
import { FETCH_BATCH, majority, MAX_SUBSCRIBERS, timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, AppliedEvents, BatchAnswer, LearnerDigest, LearnerMsg, ProposerMsg, SessionReply, SlotValue } from './messages.ts';
import { Replica, type SnapshotMeta } from './replica.ts';
import { approxBytes, takeWithin } from './size.ts';
import { decodeSlotValue } from './slot-bytes.ts';
import { decodePiece, restorePieces, SnapshotStore } from './snapshot-store.ts';
import { SlotTrace } from './trace.ts';
import { droppedAsMalformed, learnerMsgProblem } from './validate.ts';

export interface LearnerProps {
  /** This learner's index in `learners`. */
  index: number;
  /** The state machine to build (registered with defineStateMachine). */
  machine: string;
  acceptors: ActorRef<AcceptorMsg>[];
  learners: ActorRef<LearnerMsg>[];
  proposers: ActorRef<ProposerMsg>[];
  timing?: Partial<PaxosTiming>;
  /** Keep stamps of each slot's way (see trace.ts), for a benchmark's breakdown. */
  trace?: boolean;
}

/** Who a committed slot's replies go to: one handle per command, and propose-batches. */
interface Answers {
  handles?: Array<ReplyHandle | null> | undefined;
  batches?: BatchAnswer[] | undefined;
}
type ChunkMsg = Extract<LearnerMsg, { type: 'snapshot-chunk' }>;

/**
 * A learner/replica: applies chosen slots to its state machine and client sessions in slot order
 * (see Replica), and answers the clients whose reply handles came with the commit; local
 * subscribers get each applied slot's events (a chosen slot is durable in a majority). Every
 * `snapshotEvery` slots it writes a snapshot to storage in pieces and truncates its log behind
 * it. The log itself stays in memory: the acceptors hold every slot after the snapshots durably,
 * so a restarted learner restores its snapshot and catches up from the leader's recent log, from
 * peers' logs, or from a peer's snapshot (streamed in pieces) where the log was truncated. A
 * chosen slot that no leader or peer can supply any more is read back from a majority of acceptors.
 */
/** The outstanding read of chosen slots from the acceptors, and the answers so far. */
interface AcceptorRead {
  from: number;
  to: number;
  answers: Map<number, { truncatedBefore: number; covered: number; entries: Array<[number, Ballot, SlotValue]> }>;
}

export const Learner = defineActor('paxos.learner', (props: LearnerProps, ctx: ActorContext<LearnerMsg>) => {
  const learner = new LearnerReplica(props, ctx);
  return (msg: LearnerMsg) => learner.receive(msg);
});

class LearnerReplica {
  private readonly t: PaxosTiming;
  private readonly snapshots: SnapshotStore;
  private readonly replica: Replica;
  private applied = 0;
  private snapshotIndex = 0;
  private knownCommit = 0;
  /** Every slot up to here is chosen (the leader's commit index). */
  private chosenPrefix = 0;
  private appliedAtLastTick = -1;
  private stalledTicks = 0;
  private acceptorRead: AcceptorRead | undefined;
  /**
   * A peer's snapshot being downloaded: its header, the next piece wanted, and the pieces so far,
   * decoded (the state it becomes: no bigger than the replica's state once restored).
   */
  private download: (SnapshotMeta & { next: number; peer: ActorRef<LearnerMsg>; progressAt: number; decoded: unknown[] }) | undefined;
  private leader: ActorRef<ProposerMsg> | undefined;
  private readonly pending = new Map<number, { value: SlotValue; answers: Answers | undefined }>();
  /** Applied slots after the snapshot, for peers that ask. */
  private readonly log = new Map<number, SlotValue>();
  private reads: Array<{ index: number; query: unknown; handle: ReplyHandle }> = [];
  private readonly subscribers: ActorRef<AppliedEvents>[] = [];
  private readonly trace: SlotTrace | undefined;

  constructor(
    private readonly props: LearnerProps,
    private readonly ctx: ActorContext<LearnerMsg>,
  ) {
    this.t = timing(props.timing);
    this.snapshots = new SnapshotStore(ctx.storage);
    this.replica = new Replica(props.machine, this.t);
    this.trace = props.trace ? new SlotTrace() : undefined;
    // Recover the latest snapshot (and drop a download a crash cut short); the slots after it come
    // from the leader and peers.
    const saved = this.snapshots.current();
    if (saved) this.restore(saved);
    this.snapshots.dropExcept(saved?.index ?? 0);
    ctx.setTimer('tick', this.t.heartbeatMs, { type: 'tick' }, { repeat: true });
  }

  receive(msg: LearnerMsg): void {
    const ctx = this.ctx;
    if (droppedAsMalformed(ctx, msg, learnerMsgProblem)) return;
    switch (msg.type) {
      case 'commit':
        if (this.trace && msg.handles) this.trace.stamp({ stage: 'learner-received', slot: msg.slot, at: ctx.now() });
        this.learn(msg.slot, msg.value, msg.handles || msg.batches ? { handles: msg.handles, batches: msg.batches } : undefined);
        return this.drain();
      case 'commit-encoded':
        return this.commitEncoded(msg);
      case 'entries':
        for (const [slot, value] of msg.entries) this.learn(slot, value);
        this.drain();
        // Catching up: ask for the next batch now, not a stalled tick later.
        if (this.knownCommit > this.applied && this.pending.size === 0 && !this.download) this.fetchMissing();
        return;
      case 'snapshot-chunk':
        return this.receiveChunk(msg);
      case 'snapshot-fetch':
        return this.sendChunk(msg.learner, msg.index, msg.from);
      case 'read-at':
        this.reads.push({ index: msg.index, query: msg.query, handle: msg.handle });
        return this.drain();
      case 'commit-index':
        return this.commitIndex(msg.index, msg.leader);
      case 'fetch':
        return this.serveFetch(msg.from, msg.learner);
      case 'tick':
        return this.tick();
      case 'accepted-entries':
        return this.acceptorEntries(msg);
      case 'subscribe':
        return this.subscribe(msg.subscriber);
      case 'status':
        return ctx.reply({ applied: this.applied, snapshotIndex: this.snapshotIndex, knownCommit: this.knownCommit });
      case 'digest':
        return ctx.reply(this.digest());
      case 'trace':
        return ctx.reply(this.trace?.take() ?? []);
      case 'inspect':
        return ctx.reply({ applied: this.applied, snapshotIndex: this.snapshotIndex, log: [...this.log], state: [...this.replica.machine.snapshot()], sessions: this.replica.sessions.size });
      default:
        return ctx.unhandled(msg satisfies never);
    }
  }

  /** Restores the snapshot `meta` from its decoded pieces in hand, or else from storage. */
  private restore(meta: SnapshotMeta, decoded?: unknown[]): void {
    if (decoded) restorePieces(this.replica, meta, decoded);
    else this.snapshots.restoreInto(this.replica, meta);
    this.applied = this.snapshotIndex = meta.index;
  }

  private applySlot(slot: number, value: SlotValue, answers: Answers | undefined): void {
    const out = this.replica.applySlot(slot, value);
    if (answers) {
      this.answer(answers, out.replies);
      this.trace?.stamp({ stage: 'learner-answered', slot, at: this.ctx.now() });
    }
    if (out.events.length > 0) for (const s of this.subscribers) this.ctx.send(s, { type: 'applied', slot, events: out.events });
  }

  /**
   * replies[i] to handles[i]; each propose-batch its own, in one reply. In the order applied, so a
   * client hears a slot's answers in the log's order: a batch's commands sit together in the slot,
   * and its reply goes at its first.
   */
  private answer(answers: Answers, replies: SessionReply[]): void {
    const batchAt = new Map<number, BatchAnswer>();
    for (const b of answers.batches ?? []) {
      const first = b.parts.find((p): p is number => typeof p === 'number');
      if (first !== undefined) batchAt.set(first, b);
    }
    replies.forEach((reply, i) => {
      const h = answers.handles?.[i];
      if (h) this.ctx.replyTo(h, reply);
      const b = batchAt.get(i);
      if (b) this.ctx.replyTo(b.handle, b.parts.map((p) => (typeof p === 'number' ? replies[p] : p)));
    });
  }

  private drain(): void {
    for (let next = this.pending.get(this.applied + 1); next; next = this.pending.get(this.applied + 1)) {
      this.pending.delete(this.applied + 1);
      this.applySlot(this.applied + 1, next.value, next.answers);
      this.applied++;
      this.log.set(this.applied, next.value);
    }
    if (this.reads.length > 0) {
      const ready = this.reads.filter((r) => r.index <= this.applied);
      this.reads = this.reads.filter((r) => r.index > this.applied);
      for (const r of ready) this.ctx.replyTo(r.handle, this.replica.query(r.query));
    }
    if (this.applied - this.snapshotIndex >= this.t.snapshotEvery) {
      this.snapshots.write(this.applied, this.replica);
      this.log.clear();
      this.snapshotIndex = this.applied;
    }
  }

  private learn(slot: number, value: SlotValue, answers?: Answers): void {
    if (slot <= this.applied) {
      // Applied already (from another copy): the clients still get their answers.
      if (answers?.handles?.some((h) => h) || answers?.batches?.length) this.answer(answers, this.replica.answersFor(slot, value));
      return;
    }
    const have = this.pending.get(slot);
    if (have && (have.answers || !answers)) return;
    this.pending.set(slot, { value, answers });
    this.knownCommit = Math.max(this.knownCommit, slot);
  }

  /** A commit whose value came as the accepts' bytes: learned once decoded, dropped as malformed if they are not a slot value. */
  private commitEncoded(msg: Extract<LearnerMsg, { type: 'commit-encoded' }>): void {
    let value: SlotValue | undefined;
    const undecodable = (): string | undefined => {
      try {
        value = decodeSlotValue(msg.value, msg.slot);
        return undefined;
      } catch (err) {
        return `commit-encoded: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    if (droppedAsMalformed(this.ctx, msg as LearnerMsg, undecodable) || value === undefined) return;
    this.learn(msg.slot, value);
    this.drain();
  }

  private commitIndex(index: number, leader: ActorRef<ProposerMsg>): void {
    // Far behind with nothing on the way (new, or back from a crash): ask at once, not a tick later.
    const farBehind = index > this.applied + this.t.maxInflightSlots && this.pending.size === 0 && !this.download && this.stalledTicks === 0;
    this.knownCommit = Math.max(this.knownCommit, index);
    this.chosenPrefix = Math.max(this.chosenPrefix, index);
    this.leader = leader;
    if (farBehind) this.fetchMissing();
  }

  /**
   * Asks every acceptor for slots applied+1.. of the chosen prefix. For a chosen slot, the value
   * with the highest ballot among any majority's answers is the chosen value, as long as no
   * answering acceptor has truncated the slot away.
   */
  private readFromAcceptors(): void {
    const from = this.applied + 1;
    const to = Math.min(this.chosenPrefix, this.applied + FETCH_BATCH);
    if (to < from) return;
    this.acceptorRead = { from, to, answers: new Map() };
    // An answer is matched on from and to: a late answer to an earlier, shorter read says nothing
    // about the slots beyond its range.
    for (const a of this.props.acceptors) this.ctx.send(a, { type: 'read-accepted', from, to, learner: this.ctx.self });
  }

  private acceptorEntries(msg: Extract<LearnerMsg, { type: 'accepted-entries' }>): void {
    const read = this.acceptorRead;
    if (!read || msg.from !== read.from || msg.to !== read.to) return;
    read.answers.set(msg.acceptor, { truncatedBefore: msg.truncatedBefore, covered: Math.min(msg.covered, read.to), entries: msg.entries });
    const quorum = majority(this.props.acceptors.length);
    if (read.answers.size < quorum) return;
    this.acceptorRead = undefined;
    // An answer cut short speaks only for slots up to its `covered`: decide the slots a whole
    // majority of answers covers.
    const answers = [...read.answers.values()];
    const upTo = answers.map((a) => a.covered).sort((a, b) => b - a)[quorum - 1]!;
    const truncated = Math.max(...answers.map((a) => a.truncatedBefore));
    const best = highestBallotPerSlot(answers.map((a) => a.entries), Math.max(read.from, truncated));
    for (const [slot, value] of best) if (slot <= upTo) this.learn(slot, value);
    this.drain();
  }

  private fetchMissing(): void {
    const msg = { type: 'fetch' as const, from: this.applied + 1, learner: this.ctx.self };
    if (this.leader) this.ctx.send(this.leader, msg);
    const peers = this.props.learners.filter((_, i) => i !== this.props.index);
    if (peers.length > 0) this.ctx.send(peers[Math.floor(this.ctx.random() * peers.length)]!, msg);
  }

  /** Sends pieces from `from` on of the current snapshot (or, if `index` is gone, of the newer one from its start). */
  private sendChunk(to: ActorRef<LearnerMsg>, index: number, from: number): void {
    const meta = this.snapshots.current();
    if (!meta || meta.index < index) return;
    const first = meta.index === index ? from : 0;
    if (first >= meta.total) return;
    const pieces = this.snapshots.chunk(meta, first, this.t.maxReplyBytes);
    this.ctx.send(to, { type: 'snapshot-chunk', ...meta, first, pieces, peer: this.ctx.self });
  }

  /** Stores a piece of a peer's snapshot; asks for the next, or installs the snapshot once whole. */
  private receiveChunk(msg: ChunkMsg): void {
    if (msg.index <= this.applied) return;
    if (!this.download || msg.index > this.download.index) {
      if (msg.first !== 0) return;
      this.snapshots.dropExcept(this.snapshotIndex); // a superseded download
      this.download = { index: msg.index, time: msg.time, total: msg.total, machinePieces: msg.machinePieces, next: 0, peer: msg.peer, progressAt: this.ctx.now(), decoded: [] };
    }
    const d = this.download;
    if (msg.index !== d.index || msg.first !== d.next) return; // a duplicate or a late one
    for (const bytes of msg.pieces) {
      this.snapshots.putPiece(msg.index, d.next++, bytes);
      d.decoded.push(decodePiece(bytes));
    }
    d.progressAt = this.ctx.now();
    if (d.next < d.total) return void this.ctx.send(msg.peer, { type: 'snapshot-fetch', index: msg.index, from: d.next, learner: this.ctx.self });
    const meta: SnapshotMeta = { index: d.index, time: d.time, total: d.total, machinePieces: d.machinePieces };
    this.download = undefined;
    this.snapshots.install(meta);
    this.restore(meta, d.decoded);
    this.log.clear();
    for (const slot of [...this.pending.keys()]) if (slot <= this.applied) this.pending.delete(slot);
    this.drain();
  }

  private serveFetch(from: number, to: ActorRef<LearnerMsg>): void {
    if (from <= this.snapshotIndex) this.sendChunk(to, this.snapshotIndex, 0);
    const all: Array<[number, SlotValue]> = [];
    for (let s = Math.max(from, this.snapshotIndex + 1); s <= this.applied && all.length < FETCH_BATCH; s++) all.push([s, this.log.get(s)!]);
    const entries = takeWithin(all, this.t.maxReplyBytes, (e) => approxBytes(e[1]));
    if (entries.length > 0) this.ctx.send(to, { type: 'entries', entries });
  }

  private tick(): void {
    const ctx = this.ctx;
    const status = { type: 'learner-status' as const, learner: this.props.index, applied: this.applied, snapshot: this.snapshotIndex };
    // Only once the snapshot is synced: the leader truncates the acceptors' logs behind it.
    for (const p of this.leader ? [this.leader] : this.props.proposers) ctx.sendWhenDurable(p, status);
    // A download that made no progress for a lease term: its chunk was lost, ask again.
    const d = this.download;
    if (d && ctx.now() - d.progressAt > this.t.leaseMs) {
      d.progressAt = ctx.now();
      ctx.send(d.peer, { type: 'snapshot-fetch', index: d.index, from: d.next, learner: ctx.self });
    }
    // No progress for a whole tick while behind: ask for what is missing.
    const behind = this.knownCommit > this.applied || this.pending.size > 0;
    this.stalledTicks = behind && this.applied === this.appliedAtLastTick ? this.stalledTicks + 1 : 0;
    if (this.stalledTicks > 0 && !d) this.fetchMissing();
    // Leader and peers had nothing for a while: the acceptors hold every chosen slot.
    if (this.stalledTicks > 2) this.readFromAcceptors();
    this.appliedAtLastTick = this.applied;
  }

  private subscribe(subscriber: ActorRef<AppliedEvents>): void {
    const ctx = this.ctx;
    if (subscriber.node !== ctx.self.node) return ctx.log.warn('subscriber refused: not on this node', { subscriber: subscriber.toString() });
    if (this.subscribers.some((s) => s.equals(subscriber))) return;
    if (this.subscribers.length >= MAX_SUBSCRIBERS) return ctx.log.warn('subscriber refused: too many', { max: MAX_SUBSCRIBERS });
    this.subscribers.push(subscriber);
  }

  private digest(): LearnerDigest {
    const hash = createHash('sha256');
    let bytes = 0;
    for (const piece of this.replica.machine.snapshot()) {
      const text = JSON.stringify(piece);
      bytes += text.length;
      hash.update(text);
    }
    return { applied: this.applied, snapshotIndex: this.snapshotIndex, hash: hash.digest('hex'), bytes };
  }
}
