import type { DomainError } from './contract.ts';

/** The lock service's error codes. They are stable: clients and tests branch on them. */
export type LsErrorCode =
  /** The op or query is malformed (wrong shape, bad path, oversize contents, …); nothing changed. */
  | 'BAD_REQUEST'
  | 'SESSION_UNKNOWN'
  /** The handle is not open in this session: never opened, closed, or invalidated by its node's deletion. */
  | 'HANDLE_UNKNOWN'
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'NOT_EMPTY'
  /** A node in an ephemeral directory must be an ephemeral of the same session. */
  | 'EPHEMERAL_PARENT'
  | 'PERMISSION_DENIED'
  | 'GENERATION_MISMATCH'
  /** Another handle holds the lock in a conflicting mode. */
  | 'LOCK_HELD'
  /** A holder's session expired while holding the lock: no one may take it until the lock-delay passes. */
  | 'LOCK_DELAY'
  | 'ALREADY_HELD'
  /**
   * A copy of an acquire whose attempt the client already settled (a final try refused it, or its
   * grant was released): never granted. A copy of a write attempt never applied, after a later
   * write of the same handle was: not applied.
   */
  | 'ATTEMPT_DECIDED'
  /** A copy of a write attempt older than the outcomes its handle keeps: it may have been applied or not; not applied now. */
  | 'ATTEMPT_FORGOTTEN'
  /**
   * The op was proposed by a master since deposed (its term is older than the newest begun): it
   * was not applied; the client asks the new master, which invalidates cached copies first.
   */
  | 'DEPOSED_MASTER'
  | 'NOT_HELD'
  | 'STALE_SEQUENCER'
  /** A configured bound (sessions, handles, nodes, total contents) is reached. */
  | 'LIMIT_REACHED';

export interface LsError extends DomainError {
  code: LsErrorCode;
  /** LOCK_DELAY only: when the lock may be taken again (the cell's time, as `FreedLock.availableAt`). */
  availableAt?: number;
  /** LOCK_DELAY only: how long from the refusal until then. */
  retryAfterMs?: number;
}

export type Outcome<R> = { ok: true; result: R } | { ok: false; error: LsError };

/** The lock on `path` is in lock-delay until `availableAt` (cell time `now`). */
export function lockDelay(message: string, availableAt: number, now: number): { ok: false; error: LsError } {
  return { ok: false, error: { code: 'LOCK_DELAY', message, availableAt, retryAfterMs: availableAt - now } };
}

export const failure = (code: LsErrorCode, message: string): { ok: false; error: LsError } => ({ ok: false, error: { code, message } });
