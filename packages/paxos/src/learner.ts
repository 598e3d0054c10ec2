import { createHash } from 'node:crypto';
import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { highestBallotPerSlot, type Ballot } from './ballot.ts';
import { majority, timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, AppliedEvents, LearnerMsg, ProposerMsg, SlotValue } from './messages.ts';
import { Replica, type SnapshotMeta } from './replica.ts';
import { approxBytes, takeWithin } from './size.ts';
import { SnapshotStore } from './snapshot-store.ts';
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
}

type Handles = Array<ReplyHandle | null>;
type ChunkMsg = Extract<LearnerMsg, { type: 'snapshot-chunk' }>;

const FETCH_BATCH = 256;
/** Local subscribers to applied events at most; more are refused with a warning. */
export const MAX_SUBSCRIBERS = 16;

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
export const Learner = defineActor('paxos.learner', (props: LearnerProps, ctx: ActorContext<LearnerMsg>) => {
  const t = timing(props.timing);
  const snapshots = new SnapshotStore(ctx.storage);
  const replica = new Replica(props.machine, t);
  let applied = 0;
  let snapshotIndex = 0;
  let knownCommit = 0;
  /** Every slot up to here is chosen (the leader's commit index). */
  let chosenPrefix = 0;
  let appliedAtLastTick = -1;
  let stalledTicks = 0;
  /** The outstanding read of chosen slots from the acceptors, and the answers so far. */
  let acceptorRead:
    | { from: number; to: number; answers: Map<number, { truncatedBefore: number; covered: number; entries: Array<[number, Ballot, SlotValue]> }> }
    | undefined;
  /** A peer's snapshot being downloaded: its header and the next piece wanted. */
  let download: (SnapshotMeta & { next: number; peer: ActorRef<LearnerMsg>; progressAt: number }) | undefined;
  let leader: ActorRef<ProposerMsg> | undefined;
  const pending = new Map<number, { value: SlotValue; handles: Handles | undefined }>();
  /** Applied slots after the snapshot, for peers that ask. */
  const log = new Map<number, SlotValue>();
  let reads: Array<{ index: number; query: unknown; handle: ReplyHandle }> = [];
  const subscribers: ActorRef<AppliedEvents>[] = [];

  const restore = (meta: SnapshotMeta): void => {
    snapshots.restoreInto(replica, meta);
    applied = snapshotIndex = meta.index;
  };

  const applySlot = (slot: number, value: SlotValue, handles: Handles | undefined): void => {
    const out = replica.applySlot(slot, value);
    handles?.forEach((h, i) => h && ctx.replyTo(h, out.replies[i]));
    if (out.events.length > 0) for (const s of subscribers) ctx.send(s, { type: 'applied', slot, events: out.events });
  };

  const drain = (): void => {
    for (let next = pending.get(applied + 1); next; next = pending.get(applied + 1)) {
      pending.delete(applied + 1);
      applySlot(applied + 1, next.value, next.handles);
      applied++;
      log.set(applied, next.value);
    }
    if (reads.length > 0) {
      const ready = reads.filter((r) => r.index <= applied);
      reads = reads.filter((r) => r.index > applied);
      for (const r of ready) ctx.replyTo(r.handle, replica.query(r.query));
    }
    if (applied - snapshotIndex >= t.snapshotEvery) {
      snapshots.write(applied, replica);
      log.clear();
      snapshotIndex = applied;
    }
  };

  const learn = (slot: number, value: SlotValue, handles?: Handles): void => {
    if (slot <= applied) {
      // Applied already (from another copy): the clients still get their answers.
      if (handles?.some((h) => h)) {
        const replies = replica.answersFor(slot, value);
        handles.forEach((h, i) => h && ctx.replyTo(h, replies[i]));
      }
      return;
    }
    const have = pending.get(slot);
    if (have && (have.handles || !handles)) return;
    pending.set(slot, { value, handles });
    knownCommit = Math.max(knownCommit, slot);
  };

  // Recover the latest snapshot (and drop a download a crash cut short); the slots after it come
  // from the leader and peers.
  const saved = snapshots.current();
  if (saved) restore(saved);
  snapshots.dropExcept(saved?.index ?? 0);
  ctx.setTimer('tick', t.heartbeatMs, { type: 'tick' }, { repeat: true });

  /**
   * Asks every acceptor for slots applied+1.. of the chosen prefix. For a chosen slot, the value
   * with the highest ballot among any majority's answers is the chosen value, as long as no
   * answering acceptor has truncated the slot away.
   */
  const readFromAcceptors = (): void => {
    const from = applied + 1;
    const to = Math.min(chosenPrefix, applied + FETCH_BATCH);
    if (to < from) return;
    acceptorRead = { from, to, answers: new Map() };
    // An answer is matched on from and to: a late answer to an earlier, shorter read says nothing
    // about the slots beyond its range.
    for (const a of props.acceptors) ctx.send(a, { type: 'read-accepted', from, to, learner: ctx.self });
  };

  const acceptorEntries = (msg: Extract<LearnerMsg, { type: 'accepted-entries' }>): void => {
    const read = acceptorRead;
    if (!read || msg.from !== read.from || msg.to !== read.to) return;
    read.answers.set(msg.acceptor, { truncatedBefore: msg.truncatedBefore, covered: Math.min(msg.covered, read.to), entries: msg.entries });
    const quorum = majority(props.acceptors.length);
    if (read.answers.size < quorum) return;
    acceptorRead = undefined;
    // An answer cut short speaks only for slots up to its `covered`: decide the slots a whole
    // majority of answers covers.
    const answers = [...read.answers.values()];
    const upTo = answers.map((a) => a.covered).sort((a, b) => b - a)[quorum - 1]!;
    const truncated = Math.max(...answers.map((a) => a.truncatedBefore));
    const best = highestBallotPerSlot(answers.map((a) => a.entries), Math.max(read.from, truncated));
    for (const [slot, value] of best) if (slot <= upTo) learn(slot, value);
    drain();
  };

  const fetchMissing = (): void => {
    const msg = { type: 'fetch' as const, from: applied + 1, learner: ctx.self };
    if (leader) ctx.send(leader, msg);
    const peers = props.learners.filter((_, i) => i !== props.index);
    if (peers.length > 0) ctx.send(peers[Math.floor(ctx.random() * peers.length)]!, msg);
  };

  /** Sends pieces from `from` on of the current snapshot (or, if `index` is gone, of the newer one from its start). */
  const sendChunk = (to: ActorRef<LearnerMsg>, index: number, from: number): void => {
    const meta = snapshots.current();
    if (!meta || meta.index < index) return;
    const first = meta.index === index ? from : 0;
    if (first >= meta.total) return;
    const pieces = snapshots.chunk(meta, first, t.maxReplyBytes);
    ctx.send(to, { type: 'snapshot-chunk', ...meta, first, pieces, peer: ctx.self });
  };

  /** Stores a piece of a peer's snapshot; asks for the next, or installs the snapshot once whole. */
  const receiveChunk = (msg: ChunkMsg): void => {
    if (msg.index <= applied) return;
    if (!download || msg.index > download.index) {
      if (msg.first !== 0) return;
      snapshots.dropExcept(snapshotIndex); // a superseded download
      download = { index: msg.index, time: msg.time, total: msg.total, machinePieces: msg.machinePieces, next: 0, peer: msg.peer, progressAt: ctx.now() };
    }
    if (msg.index !== download.index || msg.first !== download.next) return; // a duplicate or a late one
    msg.pieces.forEach((p, i) => snapshots.putPiece(msg.index, msg.first + i, p));
    download.next += msg.pieces.length;
    download.progressAt = ctx.now();
    if (download.next < download.total) return void ctx.send(msg.peer, { type: 'snapshot-fetch', index: msg.index, from: download.next, learner: ctx.self });
    const meta: SnapshotMeta = { index: download.index, time: download.time, total: download.total, machinePieces: download.machinePieces };
    download = undefined;
    snapshots.install(meta);
    restore(meta);
    log.clear();
    for (const slot of [...pending.keys()]) if (slot <= applied) pending.delete(slot);
    drain();
  };

  const serveFetch = (from: number, to: ActorRef<LearnerMsg>): void => {
    if (from <= snapshotIndex) sendChunk(to, snapshotIndex, 0);
    const all: Array<[number, SlotValue]> = [];
    for (let s = Math.max(from, snapshotIndex + 1); s <= applied && all.length < FETCH_BATCH; s++) all.push([s, log.get(s)!]);
    const entries = takeWithin(all, t.maxReplyBytes, (e) => approxBytes(e[1]));
    if (entries.length > 0) ctx.send(to, { type: 'entries', entries });
  };

  const tick = (): void => {
    const status = { type: 'learner-status' as const, learner: props.index, applied, snapshot: snapshotIndex };
    // Only once the snapshot is synced: the leader truncates the acceptors' logs behind it.
    for (const p of leader ? [leader] : props.proposers) ctx.sendWhenDurable(p, status);
    // A download that made no progress for a lease term: its chunk was lost, ask again.
    if (download && ctx.now() - download.progressAt > t.leaseMs) {
      download.progressAt = ctx.now();
      ctx.send(download.peer, { type: 'snapshot-fetch', index: download.index, from: download.next, learner: ctx.self });
    }
    // No progress for a whole tick while behind: ask for what is missing.
    const behind = knownCommit > applied || pending.size > 0;
    stalledTicks = behind && applied === appliedAtLastTick ? stalledTicks + 1 : 0;
    if (stalledTicks > 0 && !download) fetchMissing();
    // Leader and peers had nothing for a while: the acceptors hold every chosen slot.
    if (stalledTicks > 2) readFromAcceptors();
    appliedAtLastTick = applied;
  };

  const subscribe = (subscriber: ActorRef<AppliedEvents>): void => {
    if (subscriber.node !== ctx.self.node) return ctx.log.warn('subscriber refused: not on this node', { subscriber: subscriber.toString() });
    if (subscribers.some((s) => s.equals(subscriber))) return;
    if (subscribers.length >= MAX_SUBSCRIBERS) return ctx.log.warn('subscriber refused: too many', { max: MAX_SUBSCRIBERS });
    subscribers.push(subscriber);
  };

  return (msg: LearnerMsg) => {
    if (droppedAsMalformed(ctx, msg, learnerMsgProblem)) return;
    switch (msg.type) {
      case 'commit':
        learn(msg.slot, msg.value, msg.handles);
        return drain();
      case 'entries':
        for (const [slot, value] of msg.entries) learn(slot, value);
        return drain();
      case 'snapshot-chunk':
        return receiveChunk(msg);
      case 'snapshot-fetch':
        return sendChunk(msg.learner, msg.index, msg.from);
      case 'read-at':
        reads.push({ index: msg.index, query: msg.query, handle: msg.handle });
        return drain();
      case 'commit-index': {
        // Far behind with nothing on the way (new, or back from a crash): ask at once, not a tick later.
        const farBehind = msg.index > applied + t.maxInflightSlots && pending.size === 0 && !download && stalledTicks === 0;
        knownCommit = Math.max(knownCommit, msg.index);
        chosenPrefix = Math.max(chosenPrefix, msg.index);
        leader = msg.leader;
        if (farBehind) fetchMissing();
        return;
      }
      case 'fetch':
        return serveFetch(msg.from, msg.learner);
      case 'tick':
        return tick();
      case 'accepted-entries':
        return acceptorEntries(msg);
      case 'subscribe':
        return subscribe(msg.subscriber);
      case 'status':
        return ctx.reply({ applied, snapshotIndex, knownCommit });
      case 'digest': {
        const hash = createHash('sha256');
        let bytes = 0;
        for (const piece of replica.machine.snapshot()) {
          const text = JSON.stringify(piece);
          bytes += text.length;
          hash.update(text);
        }
        return ctx.reply({ applied, snapshotIndex, hash: hash.digest('hex'), bytes });
      }
      case 'inspect':
        return ctx.reply({ applied, snapshotIndex, log: [...log], state: [...replica.machine.snapshot()], sessions: replica.sessions.size });
      default:
        return ctx.unhandled(msg satisfies never);
    }
  };
});
