import { performance } from 'node:perf_hooks';
import type { NodeEnv } from '../node-host.ts';

/** The real world: wall-clock time, Node timers, setImmediate. */
export const realEnv: NodeEnv = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  holdTimer: (h, hold) => void (hold ? (h as NodeJS.Timeout).ref() : (h as NodeJS.Timeout).unref()),
  defer: (fn) => setImmediate(fn),
};
