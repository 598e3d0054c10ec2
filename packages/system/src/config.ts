import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gfsClusterConfig, gfsConfig, type GfsClusterConfig, type GfsConfig } from '@actorfs/gfs';
import { cellConfig, DEFAULT_CELL_TIMING, type CellConfig, type CellTiming } from '@actorfs/lockservice';
import { timing as paxosTiming, type PaxosTiming } from '@actorfs/paxos';
import { CELL, CELL_DB } from './cell-db.ts';
import { checkValue, partialOf, type Spec } from './config-schema.ts';

export interface ChunkserverPlan {
  /** The worker thread (node) it runs on, also its server id at the master. */
  name: string;
  rack: string;
  capacityBytes: number;
}

/** Everything `pnpm start` runs, as the config file sets it (every key optional). */
export interface SystemConfig {
  /** Where every node's LMDB lives; kept across restarts. */
  dataDir: string;
  http: { port: number };
  lockCell: { nodes: string[]; timing: Partial<CellTiming>; paxos: Partial<PaxosTiming> };
  gfs: {
    /** Nodes of the master replicas that may lead: the one holding the lock-service lock is the master, the others its synchronous backups. */
    masters: string[];
    /** Nodes of read-only shadow masters (they follow the log behind the master and answer reads). */
    shadows: string[];
    chunkservers: ChunkserverPlan[];
    settings: Partial<GfsConfig>;
  };
}

export const DEFAULT_PORT = 7070;

const MIB = 1024 * 1024;

/**
 * GFS settings for a laptop: 8 MiB chunks so a file of tens of MiB spans several, heartbeats each
 * second so a dead chunkserver is noticed within 3 s, and 2 replicas so that, with 3 chunkservers,
 * a lost one leaves a server to re-replicate to (with 3 replicas there would be none), and 10 s
 * chunk leases: a chunk that lost a replica is cloned only once its lease ends (so no acknowledged
 * write misses the copy), and the paper's 60 s would hold a re-replication that long.
 * A client step gets 40 attempts (about a minute of backoff): enough to outlast a master failover
 * (the dead master's 6 s lock-service session, a 2 s lock-delay, and the new master's 10 s wait
 * before it grants a chunk lease).
 */
export const SYSTEM_GFS_SETTINGS: Partial<GfsConfig> = {
  chunkSizeBytes: 8 * MIB,
  leaseMs: 10_000,
  replicas: 2,
  heartbeatIntervalMs: 1_000,
  serverTimeoutMs: 3_000,
  scanIntervalMs: 1_000,
  cloneTimeoutMs: 20_000,
  gcDelayMs: 60_000,
  clientAttempts: 40,
};

/** The lock cell's sessions: a 2 s Paxos lease, so a lost replica's leadership moves on quickly. */
export const SYSTEM_PAXOS: Partial<PaxosTiming> = { leaseMs: 2_000 };

/**
 * Lock-service sessions of 6 s with a 15 s grace period (Chubby's 12 s and 45 s are made for a
 * cell of its own machines): a GFS master's session ends 6 s after its node dies, and after a
 * restart of the whole system the previous run's master lock is free 21 s after the cell elects.
 */
export const SYSTEM_CELL_TIMING: Partial<CellTiming> = { leaseMs: 6_000, gracePeriodMs: 15_000 };

export const DEFAULT_CONFIG: SystemConfig = {
  dataDir: './data',
  http: { port: DEFAULT_PORT },
  lockCell: { nodes: ['ls1', 'ls2', 'ls3', 'ls4', 'ls5'], timing: SYSTEM_CELL_TIMING, paxos: SYSTEM_PAXOS },
  gfs: {
    masters: ['gfs-master1', 'gfs-master2'],
    shadows: ['gfs-shadow'],
    chunkservers: [
      { name: 'cs1', rack: 'rack-a', capacityBytes: 1024 * MIB },
      { name: 'cs2', rack: 'rack-a', capacityBytes: 1024 * MIB },
      { name: 'cs3', rack: 'rack-b', capacityBytes: 1024 * MIB },
    ],
    settings: SYSTEM_GFS_SETTINGS,
  },
};

const NODE: Spec = { kind: 'string', pattern: /^[a-z][a-z0-9-]{0,31}$/, what: 'a node name (lower-case letters, digits and -, starting with a letter, at most 32)' };

const SCHEMA: Spec = {
  kind: 'object',
  fields: {
    dataDir: { kind: 'string', pattern: /./, what: 'a folder path' },
    http: { kind: 'object', fields: { port: { kind: 'integer', min: 0, max: 65_535 } } },
    lockCell: {
      kind: 'object',
      fields: {
        nodes: { kind: 'list', of: NODE, minItems: 3, maxItems: 5 },
        timing: partialOf(DEFAULT_CELL_TIMING),
        paxos: partialOf(paxosTiming()),
      },
    },
    gfs: {
      kind: 'object',
      fields: {
        masters: { kind: 'list', of: NODE, minItems: 1, maxItems: 3 },
        shadows: { kind: 'list', of: NODE, minItems: 0, maxItems: 2 },
        chunkservers: {
          kind: 'list',
          minItems: 1,
          maxItems: 32,
          of: { kind: 'object', fields: { name: NODE, rack: { kind: 'string', pattern: /^[A-Za-z0-9_-]{1,64}$/, what: 'a rack name' }, capacityBytes: { kind: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER } } },
        },
        settings: partialOf(gfsConfig()),
      },
      replaced: { master: 'the master is replicated since data format 2; name its nodes in gfs.masters (the master and its synchronous backups, e.g. ["gfs-master1", "gfs-master2"]) and gfs.shadows' },
    },
  },
};

export class ConfigFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`);
    this.name = 'ConfigFileError';
  }
}

/** The config in a JSON file (unknown keys and wrong types refused, every one named). */
export function loadConfigFile(file: string): SystemConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, [`cannot read it: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseConfig(raw, file);
}

/** Checks a parsed config and fills in the defaults; throws ConfigFileError naming every problem. */
export function parseConfig(raw: unknown, source = 'config'): SystemConfig {
  const problems: string[] = [];
  checkValue(raw, SCHEMA, '', problems);
  if (problems.length > 0) throw new ConfigFileError(source, problems);
  const given = raw as DeepPartial<SystemConfig>;
  const config: SystemConfig = {
    dataDir: given.dataDir ?? DEFAULT_CONFIG.dataDir,
    http: { ...DEFAULT_CONFIG.http, ...given.http },
    lockCell: {
      nodes: (given.lockCell?.nodes as string[] | undefined) ?? DEFAULT_CONFIG.lockCell.nodes,
      timing: { ...DEFAULT_CONFIG.lockCell.timing, ...given.lockCell?.timing },
      paxos: { ...DEFAULT_CONFIG.lockCell.paxos, ...given.lockCell?.paxos },
    },
    gfs: {
      masters: (given.gfs?.masters as string[] | undefined) ?? DEFAULT_CONFIG.gfs.masters,
      shadows: (given.gfs?.shadows as string[] | undefined) ?? DEFAULT_CONFIG.gfs.shadows,
      chunkservers: (given.gfs?.chunkservers as ChunkserverPlan[] | undefined) ?? DEFAULT_CONFIG.gfs.chunkservers,
      settings: { ...DEFAULT_CONFIG.gfs.settings, ...given.gfs?.settings },
    },
  };
  problems.push(...meaningProblems(config));
  if (problems.length > 0) throw new ConfigFileError(source, problems);
  return config;
}

/** What the schema cannot see: names used twice, a cell size Paxos refuses, GFS and cell settings that cannot work. */
function meaningProblems(config: SystemConfig): string[] {
  const problems: string[] = [];
  const names = [...config.lockCell.nodes, ...config.gfs.masters, ...config.gfs.shadows, ...config.gfs.chunkservers.map((c) => c.name)];
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) problems.push(`node names must differ across lockCell.nodes, gfs.masters, gfs.shadows and gfs.chunkservers: ${[...new Set(twice)].join(', ')} used twice`);
  for (const check of [() => cellOf(config), () => paxosTiming(config.lockCell.paxos), () => gfsClusterOf(config)]) {
    try {
      check();
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

export function cellOf(config: SystemConfig): CellConfig {
  return cellConfig(CELL, { nodes: config.lockCell.nodes, timing: config.lockCell.timing, paxos: config.lockCell.paxos, defaultLockDelayMs: CELL_DB.defaultLockDelayMs });
}

export function gfsClusterOf(config: SystemConfig): GfsClusterConfig {
  const chunkservers = config.gfs.chunkservers.map((c) => ({ server: c.name, node: c.name, rack: c.rack, capacityBytes: c.capacityBytes }));
  // the replicas' nodes come with the HA plan (Cluster); the first stands in as the plain master's node
  return gfsClusterConfig('gfs', { masterNode: config.gfs.masters[0]!, chunkservers, config: config.gfs.settings });
}

/** The config with a folder resolved against the working directory and command-line overrides applied. */
export function withOverrides(config: SystemConfig, o: { dataDir?: string; port?: number }): SystemConfig {
  return { ...config, dataDir: resolve(o.dataDir ?? config.dataDir), http: { port: o.port ?? config.http.port } };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
