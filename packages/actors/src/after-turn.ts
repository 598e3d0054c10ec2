/**
 * Jobs to run once the current turn's synchronous code is over: a microtask each, which on threads
 * is all it takes. A simulator runs promise jobs only when told (NodeEnv.promised), so the job
 * tells the simulator it belongs to: the one whose node's turn is running (each node sets the hook
 * for its turn), so two simulations in one process each run their own jobs before their next event.
 */
let turnHook: (() => void) | undefined;
/** The hooks of the simulators whose loops are running: told of a job queued outside any node's turn. */
const looping = new Set<() => void>();

/** Runs job once the current turn's synchronous code is over (no timer). */
export function afterTurn(job: () => void): void {
  queueMicrotask(job);
  if (turnHook !== undefined) turnHook();
  else for (const hook of looping) hook();
}

/** A node's turn starts: jobs queued in it tell `hook`. Returns the hook to restore when it ends (turns can nest). */
export function enterTurn(hook: () => void): (() => void) | undefined {
  const outer = turnHook;
  turnHook = hook;
  return outer;
}

export function leaveTurn(outer: (() => void) | undefined): void {
  turnHook = outer;
}

/**
 * A simulator's loop runs until the returned call: a job queued outside every node's turn (in a
 * promise continuation, which has no turn to tell) tells each running simulator, whose extra
 * settling of promise work is harmless.
 */
export function whileLooping(hook: () => void): () => void {
  looping.add(hook);
  return () => looping.delete(hook);
}
