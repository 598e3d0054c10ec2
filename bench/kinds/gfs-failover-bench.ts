// What a GFS failover benchmark node loads: the lock-service cell's actors and database, and the GFS kinds.
import { cellMachine } from '@actorfs/lockservice';
import '@actorfs/gfs';
import { GFS_FAILOVER_CELL } from '../suites/gfs-failover-cell.ts';

cellMachine(GFS_FAILOVER_CELL.db);
