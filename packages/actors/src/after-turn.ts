/**
 * Jobs to run once the current turn's synchronous code is over: a microtask each, which on threads
 * is all it takes. The simulator runs promise jobs only when told (NodeEnv.promised), so it hooks
 * in here: a job queued in a synchronous receive then runs before its next event, at the same
 * virtual instant.
 */
let queued: (() => void) | undefined;

/** Runs job once the current turn's synchronous code is over (no timer). */
export function afterTurn(job: () => void): void {
  queueMicrotask(job);
  queued?.();
}

/** The simulator's hook, told of each job afterTurn queues (the one running sets it). */
export function onAfterTurn(hook: (() => void) | undefined): void {
  queued = hook;
}
