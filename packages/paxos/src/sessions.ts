import type { OpCommand, SessionReply } from './messages.ts';
import { piecesWithin } from './size.ts';
import type { DomainError } from './state-machine.ts';

/** What applying a command came to: kept for the client's retries until it acknowledges it. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: DomainError };

export interface SessionLimits {
  /** A session with no command for this long (by the slots' leader timestamps) expires. */
  idleMs: number;
  /** Seqs a session may have outstanding beyond its acknowledged low-water mark. */
  window: number;
  /** Sessions open at once at most; an open beyond it is refused (none is evicted). */
  maxSessions: number;
}

interface Session {
  lastActive: number;
  /** The client will never send a seq at or below this again. */
  acked: number;
  /**
   * Outcomes of the applied seqs, in the order recorded: those at or below `acked` are dropped
   * from the front (see admit), so fewer than two windows of them are kept.
   */
  results: Map<number, Outcome>;
}

/** One session in a snapshot piece: [id, lastActive, acked, [seq, outcome][]]. */
type SessionRow = [string, number, number, Array<[number, Outcome]>];

/** A snapshot piece of sessions holds about this many bytes at most (one session always fits). */
const PIECE_BYTES = 256 * 1024;

/**
 * The client sessions of a replicated machine, part of the replicated state: opened and closed by
 * commands, expired by the slots' leader timestamps, never evicted by count. Each session applies
 * every seq of its window exactly once, in whatever order the seqs arrive, and keeps each outcome
 * until the client acknowledges it (a low-water mark carried in every command), so a retry of an
 * applied command gets the first outcome and a late copy of an acknowledged one is refused.
 */
export class SessionTable {
  /** In order of last activity, oldest first (time never goes back), so expiry looks at the front. */
  private sessions = new Map<string, Session>();

  constructor(private readonly limits: SessionLimits) {}

  get size(): number {
    return this.sessions.size;
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /** Drops every session idle for longer than idleMs at `time`. */
  expire(time: number): void {
    for (const [id, s] of this.sessions) {
      if (s.lastActive + this.limits.idleMs >= time) return;
      this.sessions.delete(id);
    }
  }

  open(id: string, time: number): SessionReply {
    if (this.sessions.has(id)) return { ok: true, result: id };
    if (this.sessions.size >= this.limits.maxSessions) {
      return { ok: false, error: { code: 'too-many-sessions', message: `${this.limits.maxSessions} sessions are open; close some or wait for idle ones to expire` } };
    }
    this.sessions.set(id, { lastActive: time, acked: 0, results: new Map() });
    return { ok: true, result: id };
  }

  /** Idempotent: closing a closed (or expired) session succeeds. */
  close(id: string): SessionReply {
    this.sessions.delete(id);
    return { ok: true, result: true };
  }

  /**
   * Takes in a command's acknowledgement and activity; returns undefined if the command is to be
   * applied now, else what to answer instead (its first outcome, or a refusal).
   */
  admit(cmd: OpCommand, time: number): SessionReply | undefined {
    const s = this.sessions.get(cmd.session);
    if (!s) return unknownSession(cmd.session);
    if (cmd.ack > s.acked) {
      s.acked = cmd.ack;
      // Outcomes are recorded in about seq order (a Map keeps that order), so the acknowledged
      // ones lie at the front: dropped from there up to the first still open, not by a walk over
      // every outcome per command (a session as wide as a master's holds thousands). One recorded
      // out of order goes once those before it do; until then `answer` refuses its seq as stale.
      for (const seq of s.results.keys()) {
        if (seq > s.acked) break;
        s.results.delete(seq);
      }
    }
    this.sessions.delete(cmd.session); // re-inserted at the back: the newest activity
    s.lastActive = Math.max(s.lastActive, time);
    this.sessions.set(cmd.session, s);
    return this.answer(cmd, s);
  }

  record(cmd: OpCommand, outcome: Outcome): void {
    this.sessions.get(cmd.session)?.results.set(cmd.seq, outcome);
  }

  /** The answer for a command already applied (a retry or a second copy of its slot). */
  answerFor(cmd: OpCommand): SessionReply {
    const s = this.sessions.get(cmd.session);
    return s ? (this.answer(cmd, s) ?? { ok: false, reason: 'not applied here yet; retry', maybeProposed: true }) : unknownSession(cmd.session);
  }

  private answer(cmd: OpCommand, s: Session): SessionReply | undefined {
    if (cmd.seq <= s.acked) return { ok: false, refused: 'stale', reason: `stale retry: session ${cmd.session} acknowledged every seq up to ${s.acked}` };
    const done = s.results.get(cmd.seq);
    if (done) return done;
    // Checked against the command's own ack, the same for every copy of it: a command refused
    // here is refused wherever and whenever it arrives, so it is never applied.
    if (cmd.seq > cmd.ack + this.limits.window) {
      return { ok: false, refused: 'window', reason: `seq ${cmd.seq} is beyond the window of ${this.limits.window} above the acknowledged ${cmd.ack}` };
    }
    return undefined;
  }

  /** The sessions as snapshot pieces, each about PIECE_BYTES at most. */
  pieces(): Iterable<SessionRow[]> {
    return piecesWithin(
      [...this.sessions].map(([id, s]): SessionRow => [id, s.lastActive, s.acked, [...s.results]]),
      PIECE_BYTES,
    );
  }

  restore(pieces: Iterable<unknown>): void {
    this.sessions = new Map();
    for (const piece of pieces) {
      for (const [id, lastActive, acked, results] of piece as SessionRow[]) this.sessions.set(id, { lastActive, acked, results: new Map(results) });
    }
  }
}

function unknownSession(id: string): SessionReply {
  return { ok: false, refused: 'session', reason: `unknown or expired session ${id}` };
}
