import { pathToFileURL } from 'node:url';
import { roundTrip } from '../codec.ts';
import { DEFAULT_MAX_QUEUE, type TaskPool, type TaskPoolSpec } from '../tasks/task-pool.ts';

type TaskFn = (input: unknown) => unknown;

/** What the simulated pools need from the simulator: virtual delays and its promise bookkeeping. */
export interface SimPoolHost {
  /** Runs fn after a task's simulated cost, in virtual time. */
  afterTaskCost(fn: () => void): void;
  /** Promise work settled: continuations must run before the next event. */
  promised(): void;
}

/**
 * Pools in simulator mode: a task runs in the simulation's thread, and its result is delivered
 * after a simulated cost drawn from the seed. At most maxThreads tasks are "running" at once;
 * up to maxQueue more wait; beyond that a task is refused at once, as piscina refuses it. Task
 * modules load on first use; the simulator waits for a load before its next event, so loading
 * (real I/O) cannot change the order of anything.
 */
export class SimPools {
  private readonly modules = new Map<string, Promise<TaskFn>>();
  private readonly loading = new Set<Promise<unknown>>();

  constructor(private readonly host: SimPoolHost) {}

  /** True while a task module is being loaded; the simulator then awaits `loaded()`. */
  get busy(): boolean {
    return this.loading.size > 0;
  }

  async loaded(): Promise<void> {
    while (this.loading.size > 0) await Promise.allSettled([...this.loading]);
  }

  readonly pools = (spec: TaskPoolSpec): TaskPool => {
    const threads = Math.max(1, spec.maxThreads ?? 2);
    const maxQueue = spec.maxQueue ?? DEFAULT_MAX_QUEUE;
    let running = 0;
    let destroyed = false;
    const queue: Array<() => void> = [];
    const fn = this.load(spec.filename);
    const next = (): void => {
      running--;
      const start = queue.shift();
      if (start) start();
    };
    return {
      run: (input) =>
        new Promise((resolve, reject) => {
          // A pool thread gets a copy, as across threads: nothing is shared with the caller.
          const copy = roundTrip(input).copy;
          const start = (): void => {
            running++;
            this.host.promised();
            fn.then(
              (task) => this.execute(task, copy, (ok, v) => {
                next();
                if (destroyed) return;
                if (ok) resolve(v);
                else reject(v instanceof Error ? v : new Error(String(v)));
              }),
              (err: unknown) => {
                next();
                reject(err instanceof Error ? err : new Error(String(err)));
              },
            );
          };
          if (running < threads) start();
          else if (queue.length < maxQueue) queue.push(start);
          else reject(new Error(`Task queue is at limit (${maxQueue}) in pool ${spec.filename}`));
        }),
      destroy: () => {
        destroyed = true;
        queue.length = 0;
      },
    };
  };

  private execute(task: TaskFn, input: unknown, done: (ok: boolean, v: unknown) => void): void {
    let out: unknown;
    try {
      out = task(input);
    } catch (err) {
      return this.host.afterTaskCost(() => this.settle(() => done(false, err)));
    }
    this.host.promised();
    Promise.resolve(out).then(
      (v) => this.host.afterTaskCost(() => this.settle(() => done(true, v))),
      (err: unknown) => this.host.afterTaskCost(() => this.settle(() => done(false, err))),
    );
  }

  private settle(fn: () => void): void {
    this.host.promised();
    fn();
  }

  private load(filename: string): Promise<TaskFn> {
    let p = this.modules.get(filename);
    if (!p) {
      const url = /^[a-z]+:/.test(filename) ? filename : pathToFileURL(filename).href;
      p = import(url).then((m: { default?: unknown }) => {
        if (typeof m.default !== 'function') throw new Error(`task module ${filename} has no default export function`);
        return m.default as TaskFn;
      });
      this.modules.set(filename, p);
      const tracked: Promise<void> = p.then(
        () => undefined,
        () => undefined, // the run that asked for it reports the failure
      ).finally(() => this.loading.delete(tracked));
      this.loading.add(tracked);
    }
    return p;
  }
}
