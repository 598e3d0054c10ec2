// What a lock-service benchmark node loads: the cell's actors and its database, from the bench config.
import { cellMachine } from '@actorfs/lockservice';
import { BENCH_CELL, HELD_CELL } from '../suites/lockservice-cell.ts';

cellMachine(BENCH_CELL.db);
cellMachine(HELD_CELL.db);
export { ThreadBusy } from './thread-busy.ts';
