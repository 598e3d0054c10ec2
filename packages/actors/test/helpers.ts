/** Small promise helpers shared by the runtime tests (never loaded by worker nodes). */

/**
 * How long a test waits for what must happen before it calls it a hang. Generous on purpose: on a
 * loaded 2-core machine worker threads run 10-50 times slower. A limit for hangs, never a speed check.
 */
export const HANG_MS = 30_000;

/** Settles like `p`, or rejects once `ms` pass (a hang, reported by name instead of jest's timeout). */
export function within<T>(p: Promise<T>, ms = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`guard: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** What `p` has settled with once the callbacks already due have run, or 'pending': "at once" without a wall-clock guard. */
export function settledNow<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
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

export interface ScenarioRun {
  /** null when the process had to be killed: it did not exit by itself within the limit. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON lines it printed. */
  results: unknown[];
}

/**
 * Runs fixtures/run-scenario.ts in a process of its own and waits for it to exit by itself; kills
 * it after `limitMs` (default 100 s; then code is null). For claims about a whole process: nothing
 * left running. The limit catches a hang, not slowness: a loaded machine starts workers slowly.
 */
export async function runScenario(scenario: string, opts: { arg?: string; env?: Record<string, string>; limitMs?: number } = {}): Promise<ScenarioRun> {
  const { spawn } = await import('node:child_process');
  const script = new URL('./fixtures/run-scenario.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, scenario, ...(opts.arg === undefined ? [] : [opts.arg])], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.limitMs ?? 100_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c, signal) => resolve(signal ? null : c)));
  clearTimeout(killer);
  const results = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as unknown);
  return { code, stdout, stderr, results };
}
