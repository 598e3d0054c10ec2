import type { StorageCommitError } from '../errors.ts';
import { NodeStorage } from './node-storage.ts';
import type { DurableStore } from './store.ts';

/** The domain an actor's `ctx.storage` uses unless its spawn options name another. */
export const DEFAULT_DOMAIN = 'default';

/**
 * Settings of one storage domain. Each domain is its own store (its own LMDB environment) with
 * its own group commit, so one domain's bulk writes never delay another's durable replies.
 */
export interface StorageDomainOptions {
  /** LMDB map size. Default 16 GiB. */
  mapSizeBytes?: number;
  /**
   * Both modes are safe: a durable reply waits for the sync either way. 'sync' syncs each commit
   * before the next starts; 'overlapping' lets the next commit start while the previous syncs
   * (more throughput for bulk writes). Default 'sync'.
   */
  syncMode?: 'sync' | 'overlapping';
  /** Bytes of writes waiting for their commit before writers wait. Default 64 MiB. */
  maxPendingBytes?: number;
  /**
   * Bytes of values after which a commit takes no more writes (the last one may cross it). Smaller
   * commits let another domain's sync in sooner; larger ones sync less often. Default 1 MiB.
   */
  maxCommitBytes?: number;
}

/** Opens the store of one domain of one node (LMDB for real runs, memory in the simulator). */
export type OpenStore = (domain: string, opts: StorageDomainOptions) => DurableStore;

const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function checkDomainName(name: string): void {
  if (!DOMAIN_NAME.test(name)) throw new Error(`bad storage domain name ${JSON.stringify(name)}: letters, digits, _ and -, at most 64`);
}

/**
 * Runs done once the writes of `owner` so far in each of `domains` are synced, or refused (once)
 * if any domain refused them.
 */
export function whenAllDurable(domains: NodeStorage[], owner: string, done: () => void, refused: (err: StorageCommitError) => void): void {
  if (domains.length === 1) return domains[0]!.afterDurable(done, refused, owner);
  let left = domains.length;
  let failed = false;
  for (const d of domains) {
    d.afterDurable(
      () => --left === 0 && !failed && done(),
      (err) => {
        if (failed) return;
        failed = true;
        refused(err);
      },
      owner,
    );
  }
}

/** A node's storage domains, opened on first use. */
export class StorageDomains {
  private readonly open = new Map<string, NodeStorage>();

  constructor(private readonly make: (name: string) => NodeStorage) {}

  get(name: string): NodeStorage {
    let d = this.open.get(name);
    if (!d) {
      checkDomainName(name);
      d = this.make(name);
      this.open.set(name, d);
    }
    return d;
  }

  commitIfDirty(): void {
    for (const d of this.open.values()) d.commitIfDirty();
  }

  stats(): { commits: number; writes: number } {
    let commits = 0;
    let writes = 0;
    for (const d of this.open.values()) {
      commits += d.stats.commits;
      writes += d.stats.writes;
    }
    return { commits, writes };
  }

  /** Commits what is dirty, waits for every domain to be synced, and closes them. */
  async close(): Promise<void> {
    const all = [...this.open.values()];
    for (const d of all) d.commitIfDirty();
    await Promise.all(all.map((d) => d.flushed().catch(() => undefined)));
    await Promise.all(all.map((d) => d.close()));
  }
}
