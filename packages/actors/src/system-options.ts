import { mkdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomInt } from 'node:crypto';
import { LOG_LEVELS, defaultLogFormat, defaultLogLevel, type LogFormat, type LogLevel } from './log.ts';
import { MAX_TIMER_MS } from './checks.ts';
import { LOCK_FILE } from './data-dir-lock.ts';
import type { StorageDomainOptions } from './storage/domains.ts';
import type { NodeConfig } from './thread/node-config.ts';

export const MAIN = 'main';
/** Each worker is a thread with its own V8 heap (tens of MiB): more than this is a mistake. */
export const MAX_WORKERS = 64;
const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export interface SystemOptions {
  /**
   * Worker nodes to start: a count 0..64 (named w1..wN) or distinct names of letters, digits,
   * `_`, `.` and `-` (not `main`; a name is also a folder under dataDir). Default 0.
   */
  workers?: number | string[];
  /**
   * Modules that define actor kinds; main and every worker import them. A URL (file: or other),
   * an absolute path, or a path starting with `./` or `../`, which is resolved against
   * process.cwd(). Other strings (package names) are refused: pass `import.meta.resolve(name)`.
   */
  modules?: Array<string | URL>;
  /** Where nodes keep durable state (created if missing). Default: a fresh temporary directory, removed at shutdown. */
  dataDir?: string;
  /** Seeds every actor's random(). Default: random. */
  seed?: number;
  /** Default 100,000 messages per actor; beyond it new messages go to dead letters. */
  mailboxCapacity?: number;
  /** Default 16 MiB. */
  maxMessageBytes?: number;
  /** Default 5,000; at most 2^31-1 (the timer limit). */
  defaultAskTimeoutMs?: number;
  /** How long a control call (spawn, stop, stats, starting and stopping a node) may take. Default 10,000. */
  controlTimeoutMs?: number;
  /** How long shutdown and stopNode wait for a node to stop gracefully before its thread is terminated. Default 5,000. */
  shutdownGraceMs?: number;
  logLevel?: LogLevel;
  /**
   * 'text' (readable lines, stacks as they print), 'json' (one object per line), or 'auto' (the
   * default): ACTORS_LOG_FORMAT if set to text or json, else text when stderr is a TTY and JSON when not.
   */
  logFormat?: LogFormat | 'auto';
  /**
   * Check an actor's tell to an actor of its own node against the whole message rule, as every
   * other path is (default false: only its `type` is checked there, since nothing is encoded and
   * the walk costs about a third of the send). Turn it on in tests to catch, on one node, a
   * message that another thread would refuse; the simulator always checks.
   */
  checkSameThreadMessages?: boolean;
  /** Settings of named storage domains (each its own LMDB environment and group commit), on every node. */
  storageDomains?: Record<string, StorageDomainOptions>;
  /**
   * A module (as for modules) whose default export is a StoreFactory: every node opens its storage
   * domains through it instead of LMDB. A module, not a function, because workers import it.
   */
  storeModule?: string | URL;
  /** A module (as for modules) whose default export is a LogSinkFactory: every node's log lines go to its sink. */
  logSinkModule?: string | URL;
}

export interface ResolvedOptions {
  config: Omit<NodeConfig, 'dataDir'>;
  workers: string[];
  /** Undefined: the system makes a temporary one (after the modules load) and removes it at shutdown. */
  dataDir: string | undefined;
  controlTimeoutMs: number;
  shutdownGraceMs: number;
}

/** Checks every option (a clear error naming the option, nothing coerced) and fills in defaults. */
export function resolveOptions(opts: SystemOptions): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('ActorSystem.start: options must be an object');
  const workers = workerNames(opts.workers);
  const modules = (optionalArray(opts.modules, 'modules') ?? []).map((m, i) => moduleUrl(m, `option modules[${i}]`));
  const logLevel = opts.logLevel ?? defaultLogLevel();
  if (!Object.hasOwn(LOG_LEVELS, logLevel)) throw new TypeError(`option logLevel: ${show(logLevel)} is not one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  const logFormat = opts.logFormat ?? 'auto';
  if (logFormat !== 'auto' && logFormat !== 'text' && logFormat !== 'json') throw new TypeError(`option logFormat: ${show(logFormat)} is not auto, text or json`);
  return {
    config: {
      modules,
      seed: integer(opts.seed, 'seed', 0, Number.MAX_SAFE_INTEGER) ?? randomInt(2 ** 31),
      mailboxCapacity: integer(opts.mailboxCapacity, 'mailboxCapacity', 1, 2 ** 32) ?? 100_000,
      maxMessageBytes: integer(opts.maxMessageBytes, 'maxMessageBytes', 1, 2 ** 31 - 1) ?? 16 * 1024 * 1024,
      defaultAskTimeoutMs: integer(opts.defaultAskTimeoutMs, 'defaultAskTimeoutMs', 1, MAX_TIMER_MS) ?? 5_000,
      logLevel,
      logFormat: logFormat === 'auto' ? defaultLogFormat() : logFormat,
      storageDomains: domainSettings(opts.storageDomains),
      checkSameThreadMessages: flag(opts.checkSameThreadMessages, 'checkSameThreadMessages') ?? false,
      ...(opts.storeModule === undefined ? {} : { storeModule: moduleUrl(opts.storeModule, 'option storeModule') }),
      ...(opts.logSinkModule === undefined ? {} : { logSinkModule: moduleUrl(opts.logSinkModule, 'option logSinkModule') }),
    },
    workers,
    dataDir: opts.dataDir === undefined ? undefined : checkedDataDir(opts.dataDir),
    controlTimeoutMs: integer(opts.controlTimeoutMs, 'controlTimeoutMs', 1, MAX_TIMER_MS) ?? 10_000,
    shutdownGraceMs: integer(opts.shutdownGraceMs, 'shutdownGraceMs', 1, MAX_TIMER_MS) ?? 5_000,
  };
}

/** Throws unless `name` can name a worker node. */
export function checkNodeName(name: unknown, option: string): asserts name is string {
  if (typeof name !== 'string' || !NODE_NAME.test(name)) {
    throw new TypeError(`${option}: ${show(name)} is not a node name (1-64 letters, digits, _, . or -, not starting with . or -)`);
  }
  if (name === MAIN) throw new TypeError(`${option}: "main" is the main thread's node, not a worker`);
  if (name === LOCK_FILE) throw new TypeError(`${option}: "${LOCK_FILE}" is the data directory's lock file, not a node`);
}

function workerNames(w: unknown): string[] {
  if (w === undefined) return [];
  if (typeof w === 'number') {
    if (!Number.isInteger(w) || w < 0 || w > MAX_WORKERS) throw new RangeError(`option workers: ${show(w)} is not a whole number from 0 to ${MAX_WORKERS}`);
    return Array.from({ length: w }, (_, i) => `w${i + 1}`);
  }
  if (!Array.isArray(w)) throw new TypeError(`option workers: ${show(w)} is neither a count nor a list of names`);
  if (w.length > MAX_WORKERS) throw new RangeError(`option workers: ${w.length} names, more than ${MAX_WORKERS}`);
  const seen = new Set<string>();
  w.forEach((name: unknown, i) => {
    checkNodeName(name, `option workers[${i}]`);
    if (seen.has(name)) throw new TypeError(`option workers[${i}]: ${show(name)} is named twice`);
    seen.add(name);
  });
  return [...seen];
}

function moduleUrl(m: unknown, option: string): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string') throw new TypeError(`${option}: ${show(m)} is neither a URL nor a path`);
  if (isAbsolute(m)) return pathToFileURL(m).href;
  if (m.startsWith('./') || m.startsWith('../')) return pathToFileURL(resolve(process.cwd(), m)).href;
  if (URL.canParse(m) && /^[a-z][a-z0-9+.-]+:/i.test(m)) return m;
  throw new TypeError(`${option}: ${show(m)} is not a URL, an absolute path or a path starting with ./ or ../ (for a package, pass import.meta.resolve(${show(m)}))`);
}

function checkedDataDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`option dataDir: ${show(dir)} is not a path`);
  const abs = resolve(dir);
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(abs, { throwIfNoEntry: false })?.isDirectory();
    if (isDirectory === undefined) mkdirSync(abs, { recursive: true });
  } catch (err) {
    throw new Error(`option dataDir: ${abs} cannot be created: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (isDirectory === false) throw new Error(`option dataDir: ${abs} exists and is not a directory`);
  return abs;
}

function optionalArray(v: unknown, option: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new TypeError(`option ${option}: ${show(v)} is not an array`);
  return v;
}

function integer(v: unknown, option: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`option ${option}: ${show(v)} is not a whole number from ${min} to ${max}`);
  }
  return v;
}

function domainSettings(v: unknown): Record<string, StorageDomainOptions> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`option storageDomains: ${show(v)} is not an object of settings by domain name`);
  for (const [name, d] of Object.entries(v)) {
    const at = `storageDomains.${name}`;
    if (typeof d !== 'object' || d === null) throw new TypeError(`option ${at}: ${show(d)} is not an object of settings`);
    const o = d as Record<string, unknown>;
    for (const bytes of ['mapSizeBytes', 'maxPendingBytes', 'maxCommitBytes']) integer(o[bytes], `${at}.${bytes}`, 1, Number.MAX_SAFE_INTEGER);
    if (o.syncMode !== undefined && o.syncMode !== 'sync' && o.syncMode !== 'overlapping') throw new TypeError(`option ${at}.syncMode: ${show(o.syncMode)} is not sync or overlapping`);
  }
  return v as Record<string, StorageDomainOptions>;
}

function flag(v: unknown, option: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`option ${option}: ${show(v)} is not true or false`);
  return v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined || typeof v === 'bigint') return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
