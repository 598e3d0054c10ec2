import { lsConfig } from '@actorfs/lockservice';

/** The lock-service cell's name: its namespace is /ls/actorfs/…. */
export const CELL = 'actorfs';

/**
 * The cell's database config; every node registers the cell's machine from it (kinds.ts). A lock
 * whose holder's session expires stays unavailable for 2 s (not Chubby's 60 s): the GFS master's
 * lock is one, and its lock-delay is part of every master failover.
 */
export const CELL_DB = lsConfig(CELL, { limits: {}, defaultLockDelayMs: 2_000 });
