import { defineStateMachine, type MachineDef } from '@actorfs/paxos';
import type { LsConfig } from './config.ts';
import { LockDb } from './db.ts';
import type { Outcome } from './errors.ts';
import type { DbEvent, LsOp, LsQuery, LsQueryResult, LsResult } from './protocol.ts';

export type LsMachine = MachineDef<LsOp, LsResult, LsQuery, Outcome<LsQueryResult>, DbEvent>;

const cells = new Map<string, { config: string; def: LsMachine }>();

/**
 * The database of one cell as a Paxos machine, registered as `lockservice/<cell>` on first use.
 * Every replica must build it from the same config, so a second config for a cell is an error.
 * Each node registers it (in the module a worker loads, or when its server actor starts) before
 * its learners are spawned.
 */
export function cellMachine(config: LsConfig): LsMachine {
  const text = JSON.stringify(config);
  const known = cells.get(config.cell);
  if (known) {
    if (known.config !== text) throw new Error(`lock service: cell ${config.cell} is already defined with another config (${known.config})`);
    return known.def;
  }
  const def = defineStateMachine(`lockservice/${config.cell}`, () => new LockDb(config));
  cells.set(config.cell, { config: text, def });
  return def;
}
