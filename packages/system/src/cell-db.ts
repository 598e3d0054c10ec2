import { lsConfig } from '@actorfs/lockservice';

/** The lock-service cell's name: its namespace is /ls/actorfs/…. */
export const CELL = 'actorfs';

/** The cell's database config; every node registers the cell's machine from it (kinds.ts). */
export const CELL_DB = lsConfig(CELL, { limits: {} });
