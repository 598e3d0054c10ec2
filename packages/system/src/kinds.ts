// What every node of the system loads: the GFS actors and the lock cell's database (its Paxos machine).
import '@actorfs/gfs';
import { cellMachine } from '@actorfs/lockservice';
import { CELL_DB } from './cell-db.ts';

cellMachine(CELL_DB);
