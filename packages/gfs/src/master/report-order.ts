import type { ServerId } from './chunk-locations.ts';

/**
 * Where a chunkserver's message stands among all it sent the master: the incarnation of the
 * server that sent it (a restart starts a greater one) and a sequence number within that.
 */
export interface ReportStamp {
  incarnation: number;
  seq: number;
}

/** What is wrong with a stamp, if anything (undefined: unstamped, allowed). */
export function stampProblem(stamp: unknown): string | undefined {
  if (stamp === undefined) return undefined;
  const s = stamp as { incarnation?: unknown; seq?: unknown } | null;
  const ok = Number.isSafeInteger(s?.incarnation) && Number.isSafeInteger(s?.seq) && (s!.incarnation as number) >= 0 && (s!.seq as number) >= 0;
  return ok ? undefined : `bad stamp ${JSON.stringify(stamp)}: incarnation and seq must be integers >= 0`;
}

function before(a: ReportStamp, b: ReportStamp): boolean {
  return a.incarnation < b.incarnation || (a.incarnation === b.incarnation && a.seq < b.seq);
}

/**
 * The newest message the master applied from each chunkserver. The network may reorder: a
 * heartbeat sent before a version-raised (or chunk-created, clone-done) can arrive after it, and
 * its chunk list would then undo what the master just learned. Such an outdated report counts
 * for liveness only. One entry per live server, and per server taken for dead until `forgetDead`
 * drops it: kept meanwhile so its late reports stay outdated (one applied would register it
 * again with an old chunk list, and have replicas it holds at the current version deleted).
 */
export class ReportOrder {
  private readonly newest = new Map<ServerId, ReportStamp>();
  /** Servers taken for dead, and when. */
  private readonly deadSince = new Map<ServerId, number>();

  /** Sent before a message already applied from the same server (an unstamped one never is). */
  isOutdated(server: ServerId, stamp: ReportStamp | undefined): boolean {
    const newest = this.newest.get(server);
    return stamp !== undefined && newest !== undefined && before(stamp, newest);
  }

  /** A message from `server` was applied: reports sent before it are outdated from now on. */
  applied(server: ServerId, stamp: ReportStamp | undefined): void {
    this.deadSince.delete(server);
    const newest = this.newest.get(server);
    if (stamp !== undefined && (newest === undefined || before(newest, stamp))) this.newest.set(server, { incarnation: stamp.incarnation, seq: stamp.seq });
  }

  /** The server was taken for dead at `nowMs` (its stamp is kept for now, see forgetDead). */
  dead(server: ServerId, nowMs: number): void {
    if (this.newest.has(server)) this.deadSince.set(server, nowMs);
  }

  /** Drops the stamps of servers dead for keepMs or more: no report of theirs is still in flight. */
  forgetDead(nowMs: number, keepMs: number): void {
    for (const [server, since] of this.deadSince) {
      if (since + keepMs > nowMs) continue;
      this.deadSince.delete(server);
      this.newest.delete(server);
    }
  }
}
