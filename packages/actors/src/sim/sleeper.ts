import type { SimCluster } from './cluster.ts';

/**
 * Virtual-time sleeps for code outside the simulation (a test's clients, their retry loops),
 * woken by `run`, the one loop that runs the simulation for all of them.
 */
export class Sleeper {
  private sleepers: Array<{ at: number; wake: () => void }> = [];
  constructor(private readonly sim: SimCluster) {}

  sleep = (ms: number): Promise<void> => new Promise((wake) => this.sleepers.push({ at: this.sim.now() + ms, wake }));

  /** Runs the simulation until `work` settles, and gives its result (an error if maxMs of virtual time pass first). */
  async drive<T>(work: Promise<T>, maxMs = 60_000): Promise<T> {
    if (!(await this.run(work, maxMs))) throw new Error(`not done within ${maxMs} ms of virtual time`);
    return work;
  }

  /** Runs the simulation until `done` settles; false if maxMs of virtual time pass first. */
  async run(done: Promise<unknown>, maxMs: number): Promise<boolean> {
    let finished = false;
    void done.then(
      () => (finished = true),
      () => (finished = true),
    );
    return this.sim.runUntil(() => {
      const now = this.sim.now();
      const due = this.sleepers.filter((s) => s.at <= now);
      this.sleepers = this.sleepers.filter((s) => s.at > now);
      for (const s of due) s.wake();
      return finished;
    }, { maxMs });
  }
}
