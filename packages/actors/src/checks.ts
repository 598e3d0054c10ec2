import { checkDomainName } from './storage/domains.ts';
import type { SpawnOptions } from './context.ts';

/** setTimeout's largest delay; a longer one (or NaN) would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws a RangeError unless ms is a number of milliseconds a timer can wait (above 0 if `positive`). */
export function checkMs(what: string, ms: unknown, positive: boolean): void {
  if (typeof ms !== 'number' || !(positive ? ms > 0 : ms >= 0) || !(ms <= MAX_TIMER_MS)) {
    throw new RangeError(`${what}: ${String(ms)} is not a number of ms ${positive ? 'above 0 and at most' : 'from 0 to'} ${MAX_TIMER_MS}`);
  }
}

const FAILURE_DECISIONS = ['restart', 'stop', 'escalate', 'resume'];

/** Spawn options are checked, not coerced: a NaN capacity or an unknown decision is an error. */
export function checkSpawnOptions(opts: SpawnOptions): void {
  if (opts.name !== undefined && (typeof opts.name !== 'string' || !/^[^$~][^@]*$/.test(opts.name))) {
    throw new Error(`bad actor name ${JSON.stringify(opts.name)}: it must be a string, not empty, not start with $ or ~, and not contain @`);
  }
  if (opts.mailboxCapacity !== undefined && !(Number.isInteger(opts.mailboxCapacity) && opts.mailboxCapacity >= 1)) {
    throw new RangeError(`spawn option mailboxCapacity: ${String(opts.mailboxCapacity)} is not a whole number above 0`);
  }
  if (opts.storageDomain !== undefined) checkDomainName(opts.storageDomain);
  const s = opts.supervision;
  if (s === undefined) return;
  if (s.onFailure !== undefined && !FAILURE_DECISIONS.includes(s.onFailure)) {
    throw new TypeError(`spawn option supervision.onFailure: ${JSON.stringify(s.onFailure)} is not one of ${FAILURE_DECISIONS.join(', ')}`);
  }
  if (s.maxRestarts !== undefined && !(Number.isInteger(s.maxRestarts) && s.maxRestarts >= 0)) {
    throw new RangeError(`spawn option supervision.maxRestarts: ${String(s.maxRestarts)} is not a whole number from 0`);
  }
  if (s.withinMs !== undefined && !(typeof s.withinMs === 'number' && s.withinMs > 0)) {
    throw new RangeError(`spawn option supervision.withinMs: ${String(s.withinMs)} is not a number of ms above 0`);
  }
}
