/** Timing and size settings of a Paxos group. Every one is configurable; tests use short ones. */
export interface PaxosTiming {
  /** Leader lease T. A leader renews it well before it ends; others wait it out. Default 1000. */
  leaseMs: number;
  /** Clock drift margin: a leader trusts its lease only until T - drift. Default 100. */
  driftMs: number;
  /** Heartbeats (lease renewal, commit index to learners) every this many ms. Default leaseMs / 4. */
  heartbeatMs: number;
  /** Resend an Accept not answered by a majority after this many ms. Default heartbeatMs. */
  retransmitMs: number;
  /**
   * Thrifty phase 2: send each Accept only to the majority that answers fastest, and to the rest
   * if that majority has not answered within thriftyWaitMs. Fewer syncs per command on shared
   * disks; a slow or dead acceptor costs one wait. Default true, 5 ms.
   */
  thrifty: boolean;
  thriftyWaitMs: number;
  /** Slots in flight at once. Default 64. */
  maxInflightSlots: number;
  /**
   * With every slot in flight, a chosen slot's clients send their next commands just after its
   * answers: the next slot waits up to this many ms for as many commands as the chosen one
   * answered, so they share it instead of the first taking a slot alone and the rest the one after.
   * Only after a slot of two or more commands, never longer than a slot takes to be chosen (smoothed),
   * and not once a full batch waits. Matters with few slots in flight (a lock cell has one).
   * Default 0 (start at once).
   */
  batchLingerMs: number;
  /**
   * Bytes (msgpack, estimated) of the slots in flight at once; at least one slot is always let go.
   * Bounds what a new leader's phase 1 gathers. Default 4 MiB.
   */
  maxInflightBytes: number;
  /** Commands batched into one slot at most. Default 512. */
  maxBatch: number;
  /** Bytes of the commands batched into one slot at most (one command always fits). Default 1 MiB. */
  maxBatchBytes: number;
  /**
   * A command bigger than this is refused with a clear reason. Default 1 MiB. This and the other
   * byte limits must stay well below the transport's maxMessageBytes (16 MiB by default): a
   * message over it is never delivered.
   */
  maxCommandBytes: number;
  /** Bytes of one catch-up reply (log entries to a lagging learner) at most. Default 4 MiB. */
  maxReplyBytes: number;
  /** A learner snapshots its machine every this many applied slots. Default 1000. */
  snapshotEvery: number;
  /** Chosen values the leader keeps in memory for learners that missed them. Default 10,000. */
  leaderLogSize: number;
  /**
   * Client sessions open at once at most; opening one more is refused with a domain error
   * (`too-many-sessions`). Sessions are never evicted by count, only closed or expired. Default 100,000.
   */
  maxSessions: number;
  /** A session with no command for this long (by the slots' leader timestamps) expires. Default 10 minutes. */
  sessionIdleMs: number;
  /** Commands a session may have outstanding (seqs above its acknowledged low-water mark). Default 64. */
  sessionWindow: number;
}

const MIB = 1024 * 1024;

/** Log entries one catch-up reply carries at most (besides maxReplyBytes). */
export const FETCH_BATCH = 256;
/** Local subscribers (to applied events, to leadership) one actor keeps at most; more are refused with a warning. */
export const MAX_SUBSCRIBERS = 16;

/** The settings with their defaults filled in; throws, naming every problem, for settings that cannot work. */
export function timing(t: Partial<PaxosTiming> = {}): PaxosTiming {
  const full = withDefaults(t);
  const problems = timingProblems(full);
  if (problems.length > 0) throw new Error(`Paxos timing cannot work: ${problems.join('; ')}`);
  return full;
}

function withDefaults(t: Partial<PaxosTiming>): PaxosTiming {
  const leaseMs = t.leaseMs ?? 1000;
  const heartbeatMs = t.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 4));
  return {
    leaseMs,
    driftMs: t.driftMs ?? Math.floor(leaseMs / 10),
    heartbeatMs,
    retransmitMs: t.retransmitMs ?? heartbeatMs,
    thrifty: t.thrifty ?? true,
    thriftyWaitMs: t.thriftyWaitMs ?? 5,
    maxInflightSlots: t.maxInflightSlots ?? 64,
    batchLingerMs: t.batchLingerMs ?? 0,
    maxInflightBytes: t.maxInflightBytes ?? 4 * MIB,
    maxBatch: t.maxBatch ?? 512,
    maxBatchBytes: t.maxBatchBytes ?? MIB,
    maxCommandBytes: t.maxCommandBytes ?? MIB,
    maxReplyBytes: t.maxReplyBytes ?? 4 * MIB,
    snapshotEvery: t.snapshotEvery ?? 1000,
    leaderLogSize: t.leaderLogSize ?? 10_000,
    maxSessions: t.maxSessions ?? 100_000,
    sessionIdleMs: t.sessionIdleMs ?? 10 * 60_000,
    sessionWindow: t.sessionWindow ?? 64,
  };
}

function timingProblems(t: PaxosTiming): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, problem: string): void => void (ok || problems.push(problem));
  const positive = ['leaseMs', 'heartbeatMs', 'retransmitMs', 'maxInflightSlots', 'maxInflightBytes', 'maxBatch', 'maxBatchBytes', 'maxCommandBytes', 'maxReplyBytes', 'snapshotEvery', 'leaderLogSize', 'maxSessions', 'sessionIdleMs', 'sessionWindow'] as const;
  for (const k of positive) need(Number.isFinite(t[k]) && t[k] > 0, `${k} must be a positive number (got ${t[k]})`);
  need(Number.isFinite(t.driftMs) && t.driftMs >= 0 && t.driftMs < t.leaseMs, `driftMs must be at least 0 and below leaseMs (got ${t.driftMs} against ${t.leaseMs})`);
  for (const k of ['thriftyWaitMs', 'batchLingerMs'] as const) need(Number.isFinite(t[k]) && t[k] >= 0, `${k} must be at least 0 (got ${t[k]})`);
  // A lease a leader trusts for leaseMs - driftMs must be renewed within it, or it lapses between heartbeats.
  need(t.heartbeatMs < t.leaseMs - t.driftMs, `heartbeatMs (${t.heartbeatMs}) must be below leaseMs - driftMs (${t.leaseMs - t.driftMs}), or the lease lapses between renewals`);
  return problems;
}

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}
