import type { PaxosTiming } from './config.ts';
import type { Command, SessionReply, SlotValue } from './messages.ts';
import { SessionTable, type Outcome } from './sessions.ts';
import { makeStateMachine, type ApplyMeta, type StateMachine } from './state-machine.ts';

/** What applying one slot came to: a reply per command (in order) and the machine's events. */
export interface AppliedSlot {
  replies: SessionReply[];
  events: Array<[index: number, event: unknown]>;
}

/** A snapshot's header: where it stands in the log and how its pieces split. */
export interface SnapshotMeta {
  index: number;
  /** The replica's clock (the newest slot time applied). */
  time: number;
  /** The machine's pieces come first, then the sessions'. */
  machinePieces: number;
  total: number;
}

/**
 * The replicated state a learner applies chosen slots to: the state machine and the client
 * sessions, advanced slot by slot with the time the slots carry. Pure: no clock, no I/O, so every
 * replica that applies the same log holds the same state.
 */
export class Replica {
  readonly machine: StateMachine;
  readonly sessions: SessionTable;
  /** The newest slot time applied: time never goes back, even under a leader whose clock is behind. */
  time = 0;

  constructor(machineName: string, t: PaxosTiming) {
    this.machine = makeStateMachine(machineName);
    this.sessions = new SessionTable({ idleMs: t.sessionIdleMs, window: t.sessionWindow, maxSessions: t.maxSessions });
  }

  applySlot(slot: number, value: SlotValue): AppliedSlot {
    this.time = Math.max(this.time, value.time);
    this.sessions.expire(this.time);
    const out: AppliedSlot = { replies: [], events: [] };
    value.cmds.forEach((cmd, index) => out.replies.push(this.applyCommand(cmd, { slot, index, time: this.time }, out.events)));
    return out;
  }

  /** The answers for the commands of a slot applied already (its second copy, or a retry). */
  answersFor(slot: number, value: SlotValue): SessionReply[] {
    return value.cmds.map((cmd, index) => {
      switch (cmd.type) {
        case 'op':
          return this.sessions.answerFor(cmd);
        case 'open': {
          const id = sessionId(cmd.client, slot, index);
          return this.sessions.has(id) ? { ok: true, result: id } : { ok: false, refused: 'session', reason: `session ${id} expired` };
        }
        case 'close':
          return { ok: true, result: true };
        default:
          return unknownCommand(cmd);
      }
    });
  }

  private applyCommand(cmd: Command, meta: ApplyMeta, events: Array<[number, unknown]>): SessionReply {
    switch (cmd.type) {
      case 'open':
        return this.sessions.open(sessionId(cmd.client, meta.slot, meta.index), meta.time);
      case 'close':
        return this.sessions.close(cmd.session);
      case 'op': {
        const early = this.sessions.admit(cmd, meta.time);
        if (early) return early;
        const outcome = this.run(cmd.op, meta, events);
        this.sessions.record(cmd, outcome);
        return outcome;
      }
      default:
        return unknownCommand(cmd);
    }
  }

  private run(op: unknown, meta: ApplyMeta, events: Array<[number, unknown]>): Outcome {
    try {
      const out = this.machine.apply(op, meta);
      for (const e of out.events ?? []) events.push([meta.index, e]);
      return out.ok ? { ok: true, result: out.result } : { ok: false, error: out.error };
    } catch (err) {
      // Deterministic on every replica: the same command fails the same way everywhere.
      return { ok: false, error: { code: 'apply-failed', message: err instanceof Error ? err.message : String(err) } };
    }
  }

  query(q: unknown): SessionReply {
    try {
      return { ok: true, result: this.machine.query(q) };
    } catch (err) {
      return { ok: false, error: { code: 'query-failed', message: err instanceof Error ? err.message : String(err) } };
    }
  }

  /** The machine's pieces, then the sessions'; `machinePieces` is known once the first part is done. */
  *pieces(counted: { machinePieces: number }): Iterable<unknown> {
    let n = 0;
    for (const p of this.machine.snapshot()) {
      n++;
      yield p;
    }
    counted.machinePieces = n;
    yield* this.sessions.pieces();
  }

  restore(time: number, machinePieces: Iterable<unknown>, sessionPieces: Iterable<unknown>): void {
    this.machine.restore(machinePieces);
    this.sessions.restore(sessionPieces);
    this.time = time;
  }
}

/** Unique forever: no two commands share a (slot, index). */
function sessionId(client: string, slot: number, index: number): string {
  return `${client}@${slot}.${index}`;
}

function unknownCommand(cmd: never): SessionReply {
  return { ok: false, refused: 'malformed', reason: `unknown command ${JSON.stringify(cmd)}` };
}
