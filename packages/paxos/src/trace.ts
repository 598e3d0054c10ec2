import type { AcceptorMsg, Command } from './messages.ts';
import { decodeSlotValue } from './slot-bytes.ts';

/**
 * A slot's way through a group, stamped by the actors themselves with their node's clock (ctx.now,
 * which on threads has a shared origin and sub-millisecond precision), for a benchmark's breakdown
 * of where a commit's time goes. Only a group planned with `trace` keeps stamps; without it no
 * actor stamps anything.
 */
export type TraceStage =
  /** The leader received the propose of a command the slot holds (`cmd` names it: session/seq). */
  | 'leader-received'
  /** The leader sent the slot's Accept (its first). */
  | 'accept-sent'
  | 'acceptor-received'
  /** The acceptor's write of the slot is synced (its accepted notice goes out now). */
  | 'acceptor-synced'
  /** The leader received an acceptor's accepted notice. */
  | 'accepted-received'
  /** The leader sent the slot's commit with its clients' reply handles. */
  | 'commit-sent'
  | 'learner-received'
  /** The learner applied the slot and answered its clients. */
  | 'learner-answered';

export interface TraceStamp {
  stage: TraceStage;
  slot: number;
  /** ctx.now() when it happened. */
  at: number;
  /** The acceptor's index, for acceptor stages and accepted notices. */
  acceptor?: number;
  /** The command, for leader-received: `${session}/${seq}`. */
  cmd?: string;
}

/** Stamps kept per actor; past this the trace stops (a breakdown needs a few thousand slots). */
export const MAX_TRACE_STAMPS = 100_000;

/** One actor's stamps, up to MAX_TRACE_STAMPS; `take` hands them over and starts again. */
export class SlotTrace {
  private stamps: TraceStamp[] = [];

  stamp(s: TraceStamp): void {
    if (this.stamps.length < MAX_TRACE_STAMPS) this.stamps.push(s);
  }

  take(): TraceStamp[] {
    const out = this.stamps;
    this.stamps = [];
    return out;
  }
}

/** A command's name in stamps. */
const cmdKey = (cmd: Command): string | undefined => (cmd.type === 'op' ? `${cmd.session}/${cmd.seq}` : undefined);

/**
 * The proposer's stamps: when each command's propose came (held until its slot's Accept goes), the
 * slot's first Accept, each accepted notice, and the commit that carries the clients' handles.
 */
export class LeaderTrace {
  readonly stamps = new SlotTrace();
  /** Commands received and not yet sent in an Accept: when they came. */
  private readonly received = new Map<string, number>();
  private lastAccept = 0;

  proposed(cmds: readonly Command[], now: number): void {
    for (const cmd of cmds) {
      const key = cmdKey(cmd);
      if (key !== undefined && this.received.size < MAX_TRACE_STAMPS) this.received.set(key, now);
    }
  }

  accepted(slot: number, acceptor: number, now: number): void {
    this.stamps.stamp({ stage: 'accepted-received', slot, at: now, acceptor });
  }

  /** Stamps what a message the leader sends says of a slot. */
  sent(msg: unknown, now: number): void {
    const m = msg as { type?: unknown };
    if (m.type === 'accept') this.acceptSent(msg as Extract<AcceptorMsg, { type: 'accept' }>, now);
    else if (m.type === 'commit' && (msg as { handles?: unknown }).handles) this.stamps.stamp({ stage: 'commit-sent', slot: (msg as { slot: number }).slot, at: now });
  }

  private acceptSent(accept: Extract<AcceptorMsg, { type: 'accept' }>, now: number): void {
    if (accept.slot <= this.lastAccept) return; // a retransmit or a widening
    this.lastAccept = accept.slot;
    // Decoded again only here, while tracing (a benchmark's breakdown).
    for (const cmd of decodeSlotValue(accept.value, accept.slot).cmds) {
      const key = cmdKey(cmd);
      const at = key === undefined ? undefined : this.received.get(key);
      if (at === undefined) continue;
      this.received.delete(key!);
      this.stamps.stamp({ stage: 'leader-received', slot: accept.slot, at, cmd: key! });
    }
    this.stamps.stamp({ stage: 'accept-sent', slot: accept.slot, at: now });
  }
}
