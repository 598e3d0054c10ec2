import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { compareBallots, type Ballot } from './ballot.ts';
import { majority, timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, LearnerMsg, ProposerMsg, SlotValue } from './messages.ts';
import { approxBytes, takeWithin } from './size.ts';
import { makeStateMachine } from './state-machine.ts';
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

type Session = { seq: number; result: unknown };
interface Snapshot {
  index: number;
  state: unknown;
  sessions: Array<[string, number, unknown]>;
}

const FETCH_BATCH = 256;
/** Snapshots above this cannot be shipped to a lagging peer in one message; warned about. */
const SNAPSHOT_WARN_BYTES = 8 * 1024 * 1024;

/**
 * A learner/replica: applies chosen slots to its state machine in slot order, exactly once per
 * (client, seq), and answers the clients whose reply handles came with the commit. Every
 * `snapshotEvery` slots it writes a snapshot of the machine to storage and truncates its log
 * behind it. The log itself stays in memory: the acceptors hold every slot after the snapshots
 * durably, so a restarted learner restores its snapshot and catches up from the leader's recent
 * log, from peers' logs, or from a peer's snapshot where the log was truncated. Keeping the log
 * off the disk halves the fsyncs per command. A chosen slot that no leader or peer can supply any
 * more (every copy in memory was lost, the leader that chose it is gone) is read back from a
 * majority of acceptors; slots past the commit index a new leader knows are its phase 1's.
 */
export const Learner = defineActor('paxos.learner', (props: LearnerProps, ctx: ActorContext<LearnerMsg>) => {
  const t = timing(props.timing);
  const store = ctx.storage;
  const machine = makeStateMachine(props.machine);
  let sessions = new Map<string, Session>();
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
  let leader: ActorRef<ProposerMsg> | undefined;
  const pending = new Map<number, { value: SlotValue; handles: Array<ReplyHandle | null> | undefined }>();
  /** Applied slots after the snapshot, for peers that ask. */
  const log = new Map<number, SlotValue>();
  let reads: Array<{ index: number; query: unknown; handle: ReplyHandle }> = [];

  const restoreSnapshot = (snap: Snapshot): void => {
    machine.restore(snap.state);
    sessions = new Map(snap.sessions.map(([client, seq, result]) => [client, { seq, result }]));
    applied = snapshotIndex = snap.index;
  };

  const applyValue = (value: SlotValue, handles: Array<ReplyHandle | null> | undefined): void => {
    value.cmds.forEach((cmd, i) => {
      let session = sessions.get(cmd.client);
      if (!session || cmd.seq > session.seq) {
        let result: unknown;
        try {
          result = machine.apply(cmd.op);
        } catch (err) {
          // Deterministic on every replica: the same command fails the same way everywhere.
          result = { error: err instanceof Error ? err.message : String(err) };
        }
        session = { seq: cmd.seq, result };
        sessions.delete(cmd.client); // re-insert: the Map's order is the eviction order
        sessions.set(cmd.client, session);
        if (sessions.size > t.maxSessions) sessions.delete(sessions.keys().next().value!);
      }
      const handle = handles?.[i];
      if (handle) answer(handle, cmd.seq, session);
    });
  };

  const answer = (handle: ReplyHandle, seq: number, session: Session): void => {
    if (session.seq === seq) ctx.replyTo(handle, { ok: true, result: session.result });
    else ctx.replyTo(handle, { ok: false, reason: `stale retry: client is at seq ${session.seq}`, refused: true });
  };

  const drain = (): void => {
    for (let next = pending.get(applied + 1); next; next = pending.get(applied + 1)) {
      pending.delete(applied + 1);
      applyValue(next.value, next.handles);
      applied++;
      log.set(applied, next.value);
    }
    if (reads.length > 0) {
      const ready = reads.filter((r) => r.index <= applied);
      reads = reads.filter((r) => r.index > applied);
      for (const r of ready) {
        try {
          ctx.replyTo(r.handle, { ok: true, result: machine.query(r.query) });
        } catch (err) {
          ctx.replyTo(r.handle, { ok: false, reason: `query failed: ${err instanceof Error ? err.message : String(err)}` });
        }
      }
    }
    if (applied - snapshotIndex >= t.snapshotEvery) takeSnapshot();
  };

  const takeSnapshot = (): void => {
    const snap: Snapshot = { index: applied, state: machine.snapshot(), sessions: [...sessions].map(([c, s]) => [c, s.seq, s.result]) };
    const bytes = approxBytes(snap);
    if (bytes > SNAPSHOT_WARN_BYTES) ctx.log.warn('snapshot too big to ship to a lagging peer in one message', { index: applied, bytes });
    store.put('snap', snap);
    log.clear();
    snapshotIndex = applied;
  };

  const learn = (slot: number, value: SlotValue, handles?: Array<ReplyHandle | null>): void => {
    if (slot <= applied) {
      // Applied already (from another copy): the clients still get their answers.
      handles?.forEach((h, i) => {
        const cmd = value.cmds[i];
        const session = cmd && sessions.get(cmd.client);
        if (h && cmd && session) answer(h, cmd.seq, session);
      });
      return;
    }
    const have = pending.get(slot);
    if (have && (have.handles || !handles)) return;
    pending.set(slot, { value, handles });
    knownCommit = Math.max(knownCommit, slot);
  };

  // Recover the latest snapshot; the slots after it come from the leader and peers.
  const snap = store.get<Snapshot>('snap');
  if (snap) restoreSnapshot(snap);
  ctx.setTimer('tick', t.heartbeatMs, { type: 'tick' }, { repeat: true });

  /**
   * Asks every acceptor for slots applied+1.. of the chosen prefix. For a chosen slot, the value
   * with the highest ballot among any majority's answers is the chosen value: the majority shares
   * an acceptor with the one that chose it, and every acceptance at that ballot or later is of the
   * chosen value. That holds only while no answering acceptor has truncated the slot away.
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
    const upTo = [...read.answers.values()].map((a) => a.covered).sort((a, b) => b - a)[quorum - 1]!;
    let truncated = 0;
    const best = new Map<number, [Ballot, SlotValue]>();
    for (const answer of read.answers.values()) {
      truncated = Math.max(truncated, answer.truncatedBefore);
      for (const [slot, ballot, value] of answer.entries) {
        const cur = best.get(slot);
        if (!cur || compareBallots(ballot, cur[0]) > 0) best.set(slot, [ballot, value]);
      }
    }
    for (let slot = Math.max(read.from, truncated); slot <= upTo; slot++) {
      const b = best.get(slot);
      if (b) learn(slot, b[1]);
    }
    drain();
  };

  const fetchMissing = (): void => {
    const msg = { type: 'fetch' as const, from: applied + 1, learner: ctx.self };
    if (leader) ctx.send(leader, msg);
    const peers = props.learners.filter((_, i) => i !== props.index);
    if (peers.length > 0) ctx.send(peers[Math.floor(ctx.random() * peers.length)]!, msg);
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
      case 'snapshot': {
        if (msg.index <= applied) return;
        restoreSnapshot({ index: msg.index, state: msg.state, sessions: msg.sessions });
        store.put('snap', { index: msg.index, state: msg.state, sessions: msg.sessions });
        log.clear();
        for (const slot of [...pending.keys()]) if (slot <= applied) pending.delete(slot);
        return drain();
      }
      case 'read-at':
        reads.push({ index: msg.index, query: msg.query, handle: msg.handle });
        return drain();
      case 'commit-index':
        knownCommit = Math.max(knownCommit, msg.index);
        chosenPrefix = Math.max(chosenPrefix, msg.index);
        leader = msg.leader;
        return;
      case 'fetch': {
        if (msg.from <= snapshotIndex) {
          const s = store.get<Snapshot>('snap');
          if (s) ctx.send(msg.learner, { type: 'snapshot', index: s.index, state: s.state, sessions: s.sessions });
        }
        const all: Array<[number, SlotValue]> = [];
        for (let s = Math.max(msg.from, snapshotIndex + 1); s <= applied && all.length < FETCH_BATCH; s++) all.push([s, log.get(s)!]);
        const entries = takeWithin(all, t.maxReplyBytes, (e) => approxBytes(e[1]));
        if (entries.length > 0) ctx.send(msg.learner, { type: 'entries', entries });
        return;
      }
      case 'tick': {
        const status = { type: 'learner-status' as const, learner: props.index, applied, snapshot: snapshotIndex };
        // Only once the snapshot is synced: the leader truncates the acceptors' logs behind it.
        for (const p of leader ? [leader] : props.proposers) ctx.sendWhenDurable(p, status);
        // No progress for a whole tick while behind: ask for what is missing.
        const behind = knownCommit > applied || pending.size > 0;
        stalledTicks = behind && applied === appliedAtLastTick ? stalledTicks + 1 : 0;
        if (stalledTicks > 0) fetchMissing();
        // Leader and peers had nothing for a while: the acceptors hold every chosen slot.
        if (stalledTicks > 2) readFromAcceptors();
        appliedAtLastTick = applied;
        return;
      }
      case 'accepted-entries':
        return acceptorEntries(msg);
      case 'status':
        return ctx.reply({ applied, snapshotIndex, knownCommit });
      case 'inspect':
        return ctx.reply({
          applied,
          snapshotIndex,
          log: [...log],
          state: machine.snapshot(),
        });
      default:
        return ctx.unhandled(msg);
    }
  };
});
