import type { LogFormat, LogLevel } from '../log.ts';
import type { StorageDomainOptions } from '../storage/domains.ts';

/** Settings every node of a system shares (plain data: it crosses into workers). */
export interface NodeConfig {
  /** Module URLs that define the actor kinds; every node imports them. */
  modules: string[];
  /** Where each node keeps its LMDB environment (`<dataDir>/<node>`). */
  dataDir: string;
  seed: number;
  mailboxCapacity: number;
  /** Largest encoded message that may cross threads; larger ones go to dead letters. */
  maxMessageBytes: number;
  defaultAskTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  storageDomains: Record<string, StorageDomainOptions>;
  /** Walk every same-thread tell against the whole message rule (see NodeOptions). */
  checkSameThreadMessages: boolean;
  /** Module URLs of the injected store factory and log sink (see SystemOptions). */
  storeModule?: string;
  logSinkModule?: string;
}
