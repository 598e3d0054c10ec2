/**
 * Seeds for simulation tests. SIM_SEED=<n> replays exactly that run; SIM_SEEDS=<count> runs
 * more (or fewer) seeds than a test's default.
 */
export function simSeeds(defaultCount: number, first = 1): number[] {
  const one = process.env.SIM_SEED;
  if (one !== undefined && one !== '') return [Number(one)];
  const count = Number(process.env.SIM_SEEDS ?? defaultCount);
  return Array.from({ length: count }, (_, i) => first + i);
}

/** Runs fn; a failure names its seed and how to replay it. */
export async function withSeed<T>(seed: number, fn: (seed: number) => Promise<T> | T): Promise<T> {
  try {
    return await fn(seed);
  } catch (err) {
    const message = `simulation failed with seed ${seed} (replay: SIM_SEED=${seed})`;
    console.error(message);
    const wrapped = new Error(`${message}: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && err.stack) wrapped.stack = `${wrapped.message}\n${err.stack}`;
    throw wrapped;
  }
}

/** Runs fn for each seed in turn, stopping at the first failure (which names its seed). */
export async function forEachSeed(defaultCount: number, fn: (seed: number) => Promise<void> | void): Promise<number> {
  const seeds = simSeeds(defaultCount);
  for (const seed of seeds) await withSeed(seed, fn);
  return seeds.length;
}
