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
 * for liveness only. One entry per server id that ever reported (ids come from the cluster's
 * configuration), kept after a server is taken for dead so its late reports stay outdated.
 */
export class ReportOrder {
  private readonly newest = new Map<ServerId, ReportStamp>();

  /** Sent before a message already applied from the same server (an unstamped one never is). */
  isOutdated(server: ServerId, stamp: ReportStamp | undefined): boolean {
    const newest = this.newest.get(server);
    return stamp !== undefined && newest !== undefined && before(stamp, newest);
  }

  /** A message from `server` was applied: reports sent before it are outdated from now on. */
  applied(server: ServerId, stamp: ReportStamp | undefined): void {
    const newest = this.newest.get(server);
    if (stamp !== undefined && (newest === undefined || before(newest, stamp))) this.newest.set(server, { incarnation: stamp.incarnation, seq: stamp.seq });
  }
}
