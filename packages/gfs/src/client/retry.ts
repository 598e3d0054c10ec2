import { AskTimeoutError, backoffWaitMs, DeliveryError, RemoteActorError, StreamError } from '@actorfs/actors';

/** A client operation that could not be done: bad input, or a step that kept failing. */
export class GfsClientError extends Error {
  override readonly name = 'GfsClientError';
}

/** A step that found the cell not ready (no live replica yet, say): worth another attempt. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** Remote errors a client cures by asking again: a replica that is not the master (HA), the chunkserver's own refusals, a bad block (another replica), a lease being granted. */
const RETRYABLE_REMOTE = new Set(['NotMasterError', 'RetryableError', 'ChecksumError', 'StreamError', 'AskTimeoutError', 'DeliveryError', 'PushBufferError']);
const RETRYABLE_MASTER = /grants no chunk lease|already wait for the backups|no live replica|no replica answered|was shared by a snapshot|already wait for its lease|no chunkserver can take|being re-replicated|being snapshotted|took version/;

/** Whether an attempt that failed with err may succeed if made again (after fresh locations and a backoff). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransientError || err instanceof AskTimeoutError || err instanceof DeliveryError || err instanceof StreamError) return true;
  if (err instanceof RemoteActorError) return RETRYABLE_REMOTE.has(err.remoteName) || RETRYABLE_MASTER.test(err.message);
  return false;
}

export interface RetryHost {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

/** Backoff doubles per attempt from baseMs, capped here, with jitter so clients that failed together spread out. */
const MAX_BACKOFF_MS = 2_000;

/**
 * Runs `attempt` until it succeeds, fails with an error that is not retryable (thrown as it is),
 * or has failed for clientRetryMs or clientAttempts times (then a GfsClientError naming what and
 * the last error). `recover` runs after each retryable failure (dropping cached locations, say).
 */
export async function retrying<T>(
  host: RetryHost,
  limits: { clientAttempts: number; clientRetryMs: number; clientBackoffMs: number },
  what: string,
  attempt: (n: number) => Promise<T>,
  recover: (err: unknown) => void = () => {},
): Promise<T> {
  const startMs = host.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      recover(err);
      const waitMs = backoffWaitMs({ firstMs: limits.clientBackoffMs, capMs: MAX_BACKOFF_MS, jitter: 0.5 }, n - 1, () => host.random());
      if (n >= limits.clientAttempts || host.now() + waitMs - startMs > limits.clientRetryMs) {
        throw new GfsClientError(`${what} failed after ${n} attempts in ${Math.round(host.now() - startMs)} ms: ${err instanceof Error ? err.message : String(err)}`);
      }
      await host.sleep(waitMs);
    }
  }
}
