/** How the master words its answers: the client's typed errors for Paxos failures and refused waits, and the small helpers its paths share. */
import type { ActorContext } from '@actorfs/actors';
import { PaxosDomainError, PaxosRefusedError } from '@actorfs/paxos';
import type { LsError } from './errors.ts';
import type { RefusalReason } from './lock-waiters.ts';
import type { ServerMsg, ServiceError } from './server-protocol.ts';
import { unreachable } from './unreachable.ts';

export function refusal(reason: RefusalReason): ServiceError {
  switch (reason) {
    case 'tooManyWaiters':
      return { code: 'TOO_MANY_WAITERS', message: 'too many acquires wait for this lock or in the cell' };
    case 'sessionEnded':
      return { code: 'SESSION_EXPIRED', message: 'the session ended while its acquire waited' };
    case 'notMaster':
      return { code: 'NOT_MASTER', message: 'the master lost mastership while the acquire waited' };
    case 'outcomeUnknown':
      return { code: 'UNAVAILABLE', message: 'the master lost mastership while the acquire was being granted or refused: it may hold the lock; ask again with the same attempt to learn which' };
    default:
      return unreachable(reason, 'waiter refusal');
  }
}

/** The end of a lock-delay, as the database's LOCK_DELAY error gives it. */
export function delayEnd(err: PaxosDomainError, now: number): number {
  return (err.error as LsError).availableAt ?? now;
}

/** The database refused an op as proposed by a deposed master: it was not applied. */
export function isDeposed(err: unknown): boolean {
  return err instanceof PaxosDomainError && (err.error as LsError).code === 'DEPOSED_MASTER';
}

/** Runs the writes a wait released, in the order they came. */
export function runReleased(released: Array<() => void>): void {
  for (const go of released) go();
}

/** 128 bits from the actor's random source, as 32 hex digits. */
export function drawSecret(ctx: ActorContext<ServerMsg>): string {
  let secret = '';
  for (let i = 0; i < 4; i++) secret += Math.floor(ctx.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return secret;
}

/** Any failure of a proposal or read as the client's typed error. */
export function failed(err: unknown): { ok: false; error: ServiceError | LsError } {
  if (err instanceof PaxosDomainError) return { ok: false, error: err.error as LsError };
  if (err instanceof PaxosRefusedError && err.code === 'invalid') return { ok: false, error: { code: 'BAD_REQUEST', message: err.message } };
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, error: { code: 'UNAVAILABLE', message: `no answer from the cell's Paxos group (the op may or may not have been applied): ${message}` } };
}
