// What every node of the example loads: the cell's actors and its database, from the shared config.
import { cellMachine } from '@actorfs/lockservice';
import { ELECTION_CELL } from './election.ts';

cellMachine(ELECTION_CELL.db);
