/** Errors the runtime raises; each says what happened and to whom. */

export class AskTimeoutError extends Error {
  override readonly name = 'AskTimeoutError';
  constructor(
    readonly target: string,
    readonly messageType: string,
    readonly timeoutMs: number,
  ) {
    super(`ask ${messageType} to ${target} timed out after ${timeoutMs} ms`);
  }
}

/** The target cannot receive: no such actor, stopped, its node is down, or the message was refused. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    readonly target: string,
    readonly reason: DeadLetterReason,
    detail?: string,
  ) {
    super(`cannot deliver to ${target}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

/** An actor answered an ask with a failure (its receive threw, or it replied with an error). */
export class RemoteActorError extends Error {
  override readonly name = 'RemoteActorError';
  constructor(
    readonly target: string,
    message: string,
    readonly remoteName: string,
  ) {
    super(`${target} failed: ${remoteName}: ${message}`);
  }
}

export type DeadLetterReason =
  | 'no-such-actor'
  | 'stopped'
  | 'mailbox-full'
  | 'oversize'
  | 'malformed'
  | 'unhandled'
  | 'node-down'
  | 'unknown-node'
  | 'not-serializable';

/**
 * A commit of an actor's writes failed, on its own: those writes were refused (they are not
 * stored, and reads no longer see them), and nothing that waited for them was told they are durable.
 */
export class StorageCommitError extends Error {
  override readonly name = 'StorageCommitError';
  constructor(
    readonly owner: string,
    readonly writes: number,
    cause: unknown,
  ) {
    super(`${writes} storage writes of ${owner === '' ? 'the node' : `actor ${owner}`} were refused: their commit failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A worker node did not answer a control call in time (an actor in a long synchronous loop holds its thread). */
export class ControlTimeoutError extends Error {
  override readonly name = 'ControlTimeoutError';
  constructor(
    readonly node: string,
    readonly call: string,
    readonly timeoutMs: number,
  ) {
    super(`node ${node} did not answer ${call} within ${timeoutMs} ms (is an actor on it in a long synchronous loop?)`);
  }
}
