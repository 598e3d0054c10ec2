import type { LogSink } from '../log.ts';
import { consoleSink } from '../log.ts';
import type { NodeOptions } from '../node-host.ts';
import { ActorNode } from '../node.ts';
import { hashString, incarnationSeed } from '../random.ts';
import { DEFAULT_DOMAIN, type OpenStore, type StorageDomainOptions } from '../storage/domains.ts';
import { domainPath, LmdbStore } from '../storage/lmdb-store.ts';
import type { DurableStore } from '../storage/store.ts';
import { piscinaPools } from '../tasks/piscina-pools.ts';
import type { NodeConfig } from './node-config.ts';
import { countStart } from './node-starts.ts';
import { realEnv } from './real-env.ts';

/** What a `SystemOptions.storeModule` exports by default: opens one storage domain of one node. */
export type StoreFactory = (place: { node: string; domain: string; dataDir: string; options: StorageDomainOptions }) => DurableStore;

/** What a `SystemOptions.logSinkModule` exports by default: the log sink of one node. */
export type LogSinkFactory = (node: string) => LogSink;

/**
 * A node of the real runtime, main or worker alike, with the system's settings, plus the injected
 * store factory and log sink when the system names their modules (functions do not cross
 * threads; module names do, as for actor kinds). Its random seed mixes in its incarnation: the
 * starts of the node counted in its default domain's store (synced before any actor starts), or,
 * if that store does not persist, `incarnation`, how many times this system started it before.
 */
export async function startRealNode(name: string, config: NodeConfig, incarnation = 0): Promise<ActorNode> {
  const stores = config.storeModule === undefined ? undefined : await defaultExport<StoreFactory>(config.storeModule, 'storeModule');
  const sinks = config.logSinkModule === undefined ? undefined : await defaultExport<LogSinkFactory>(config.logSinkModule, 'logSinkModule');
  const openStore: OpenStore = stores
    ? (domain, options) => stores({ node: name, domain, dataDir: config.dataDir, options })
    : (domain, options) => LmdbStore.open(domainPath(config.dataDir, name, domain), options);
  const defaultStore = openStore(DEFAULT_DOMAIN, config.storageDomains?.[DEFAULT_DOMAIN] ?? {});
  let starts: number;
  try {
    starts = await countStart(defaultStore, name);
  } catch (err) {
    await defaultStore.close();
    throw err;
  }
  const options: NodeOptions = {
    name,
    env: realEnv,
    // Same-named actors on different nodes must not draw the same values (the simulator does the same).
    seed: incarnationSeed(hashString(name, config.seed), Math.max(starts, incarnation)),
    logSink: sinks ? sinks(name) : consoleSink(config.logLevel, config.logFormat),
    openStore: (domain, options) => (domain === DEFAULT_DOMAIN ? defaultStore : openStore(domain, options)),
    storageDomains: config.storageDomains,
    mailboxCapacity: config.mailboxCapacity,
    defaultAskTimeoutMs: config.defaultAskTimeoutMs,
    checkSameThreadMessages: config.checkSameThreadMessages,
    taskPools: piscinaPools,
  };
  const node = new ActorNode(options);
  node.storage(); // the node owns the default domain's store from now on (it closes it on shutdown)
  return node;
}

async function defaultExport<T>(module: string, option: string): Promise<T> {
  const m = (await import(module)) as { default?: unknown };
  if (typeof m.default !== 'function') throw new Error(`${option} ${module} has no default export function`);
  return m.default as T;
}
