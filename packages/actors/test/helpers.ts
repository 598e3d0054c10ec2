/** Small promise helpers shared by the runtime tests (never loaded by worker nodes). */

/** Settles like `p`, or rejects once `ms` pass: shows that `p` settled well before its own timeout. */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`guard: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** The error `p` rejects with; fails if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `cond` holds, checking every few ms: a test waits for the state it needs, never a
 * fixed sleep that a loaded machine may outrun. Fails after `maxMs` naming what it waited for.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`until: ${what} did not happen within ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
