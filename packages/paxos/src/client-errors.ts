import type { RefusalCode } from './messages.ts';
import type { DomainError } from './state-machine.ts';

/**
 * Names one command of a session, to send again with `client.retry(handle)`: the group applies a
 * (session, seq) once, so a retry answers with the outcome the command had, or applies it now if
 * no copy was ever chosen. Plain data: a restarted client can be given it back.
 */
export interface RetryHandle<Op = unknown> {
  readonly session: string;
  readonly seq: number;
  readonly op: Op;
}

/**
 * The command certainly had no effect: it was never proposed, so it was not and will not be
 * applied. Thrown for: a command the client or the group refuses as malformed, too large, invalid
 * for the machine or beyond the session window; a first send to a session the group does not know;
 * a call refused for lack of room in the client's window; and every attempt answered "not leader"
 * or "overloaded" by a proposer that had not proposed it. Send it again as a new command if wanted.
 */
export class PaxosNoEffectError extends Error {
  override readonly name: string = 'PaxosNoEffectError';
}

/**
 * The command may or may not have been applied: an attempt timed out or found no one to answer
 * (the command may have arrived), or a proposer that had put it into an accept lost the lead or
 * skipped its slot, or a retried command's session expired or was acknowledged meanwhile. While
 * `retry` is set, `client.retry(err.retry)` sends the same (session, seq) again, as often as
 * needed, and resolves with the outcome it had (applied once); without `retry` the outcome cannot
 * be learned any more (its session is gone, or the client released the seq for room in its window).
 */
export class PaxosOutcomeUnknownError extends Error {
  override readonly name: string = 'PaxosOutcomeUnknownError';
  constructor(
    message: string,
    readonly retry?: RetryHandle,
    /** The group's refusal, when that is what made the outcome unknown ('session' or 'stale'). */
    readonly code?: RefusalCode,
  ) {
    super(message);
  }
}

/** No proposer answered for good within the attempts (timeouts, no leader): the outcome is unknown. */
export class PaxosUnavailableError extends PaxosOutcomeUnknownError {
  override readonly name: string = 'PaxosUnavailableError';
}

/** The group refused the command itself (see RefusalCode) before proposing it: not retried, no effect. */
export class PaxosRefusedError extends PaxosNoEffectError {
  override readonly name: string = 'PaxosRefusedError';
  constructor(
    message: string,
    readonly code: RefusalCode,
  ) {
    super(message);
  }
}

/** The machine applied the op and answered with a domain error: the command took effect (as that error). */
export class PaxosDomainError extends Error {
  override readonly name = 'PaxosDomainError';
  readonly code: string;
  /** The machine's error as it came, with any fields beyond code and message. */
  readonly error: DomainError;
  constructor(error: DomainError) {
    super(error.message);
    this.code = error.code;
    this.error = error;
  }
}
