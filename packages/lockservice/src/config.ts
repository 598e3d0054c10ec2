/** A cell's database settings. Every replica of a cell builds its database from the same config. */
export interface LsLimits {
  /** Contents of one file at most. Chubby's limit: 256 KiB. */
  maxContentsBytes: number;
  /** Contents of all files together at most; a write past it is refused (LIMIT_REACHED). */
  maxTotalContentsBytes: number;
  /** A path's UTF-8 length at most, `/ls/<cell>` included. */
  maxPathBytes: number;
  /** One path component's UTF-8 length at most (also ACL file names). */
  maxComponentBytes: number;
  /** A principal (user) name's UTF-8 length at most. */
  maxPrincipalBytes: number;
  /** Nodes in the namespace at most (the root included); a create past it is refused. */
  maxNodes: number;
  /** Live sessions at most; an openSession past it is refused. */
  maxSessions: number;
  /** Open handles per session at most; an open past it is refused. */
  maxHandlesPerSession: number;
  /** Open handles in the cell at most; an open past it is refused. */
  maxHandles: number;
}

export interface LsConfig {
  /** The cell's name: the namespace is `/ls/<cell>/…`. */
  cell: string;
  /** Lock-delay when a holder's session expires, unless the acquire named its own. At most MAX_LOCK_DELAY_MS. */
  defaultLockDelayMs: number;
  limits: LsLimits;
}

/** Chubby bounds lock-delay at one minute. */
export const MAX_LOCK_DELAY_MS = 60_000;

export const DEFAULT_LIMITS: LsLimits = {
  maxContentsBytes: 256 * 1024,
  maxTotalContentsBytes: 1024 * 1024 * 1024,
  maxPathBytes: 1024,
  maxComponentBytes: 255,
  maxPrincipalBytes: 255,
  maxNodes: 1_000_000,
  maxSessions: 1_000_000,
  maxHandlesPerSession: 10_000,
  maxHandles: 2_000_000,
};

export function lsConfig(cell: string, overrides: Partial<Omit<LsConfig, 'cell' | 'limits'>> & { limits?: Partial<LsLimits> } = {}): LsConfig {
  const config: LsConfig = {
    cell,
    defaultLockDelayMs: overrides.defaultLockDelayMs ?? MAX_LOCK_DELAY_MS,
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
  };
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(cell)) {
    throw new Error(`lock service: bad cell name ${JSON.stringify(cell)} (lower-case letters, digits, '_' and '-', at most 63, starting with a letter or digit)`);
  }
  if (!Number.isSafeInteger(config.defaultLockDelayMs) || config.defaultLockDelayMs < 0 || config.defaultLockDelayMs > MAX_LOCK_DELAY_MS) {
    throw new Error(`lock service: defaultLockDelayMs must be an integer from 0 to ${MAX_LOCK_DELAY_MS}, got ${config.defaultLockDelayMs}`);
  }
  for (const [name, value] of Object.entries(config.limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`lock service: limit ${name} must be a positive integer, got ${value}`);
  }
  return config;
}
