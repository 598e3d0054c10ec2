import type { NodeEnv } from '../node-host.ts';
import type { Random } from '../random.ts';
import { MemoryStore } from '../storage/memory-store.ts';
import type { DriftingClocks } from './clock-drift.ts';
import type { SimEvent } from './event-queue.ts';
import { FaultyDisk, type DiskFaults } from './faulty-disk.ts';

/** What a simulated node's env needs from its simulation. */
export interface SimEnvHost {
  /** The true virtual time. */
  time(): number;
  after(delayMs: number, run: () => void): SimEvent;
  /** A timer of `node` fires (the simulation counts and traces it). */
  timerFired(node: string): void;
  promised(): void;
}

/**
 * The env of one incarnation of a simulated node: virtual time (read through the node's drifting
 * clock, if any), timers and deferred turns as events, none of which run once `alive` is false.
 */
export function simNodeEnv(host: SimEnvHost, node: string, clocks: DriftingClocks | undefined, alive: () => boolean): NodeEnv {
  // The node defers the same function every time (its next turn): one wrapper for it, not one per turn.
  let deferred: (() => void) | undefined;
  let deferredIfAlive = (): void => undefined;
  return {
    now: () => (clocks ? clocks.read(node, host.time()) : host.time()),
    setTimer: (fn, delayMs) =>
      host.after(clocks ? clocks.trueDelay(node, host.time(), delayMs) : delayMs, () => {
        if (!alive()) return;
        host.timerFired(node);
        fn();
      }),
    clearTimer: (h) => {
      (h as SimEvent).cancelled = true;
    },
    defer: (fn) => {
      if (fn !== deferred) {
        deferred = fn;
        deferredIfAlive = () => void (alive() && fn());
      }
      host.after(0, deferredIfAlive);
    },
    promised: host.promised,
  };
}

/** A simulated node's durable store for one domain: a commit syncs `syncMs()` later, on a faulty disk when `disk` is set. */
export function simStore(host: SimEnvHost, syncMs: () => number, disk: DiskFaults | undefined, rng: Random): MemoryStore {
  const fsync = (done: () => void): void =>
    void host.after(syncMs(), () => {
      host.promised(); // the commit's promise resolves: its callbacks must run
      done();
    });
  return disk ? new FaultyDisk(fsync, disk, rng) : new MemoryStore(fsync);
}
