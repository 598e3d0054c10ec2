import type { ActorCell } from '../cell.ts';
import { StorageCommitError } from '../errors.ts';
import type { ActorNode } from '../node.ts';
import { StorageDomains, whenAllDurable, type OpenStore, type StorageDomainOptions } from './domains.ts';
import { NodeStorage } from './node-storage.ts';

/**
 * A node's storage domains as its actors use them: each opened on first use with its settings,
 * commit failures handed to the writer's supervisor, durable replies that wait for every domain
 * an actor wrote, and writers held while their domain is over its byte bound.
 */
export class NodeDomains {
  private domains: StorageDomains | undefined;

  constructor(
    private readonly node: ActorNode,
    private readonly openStore: OpenStore,
    private readonly options: Record<string, StorageDomainOptions>,
  ) {}

  /** A storage domain of the node (each its own store and group commit). */
  get(domain: string): NodeStorage {
    this.domains ??= new StorageDomains((name) => {
      const opts = this.options[name] ?? {};
      const node = this.node;
      const d = new NodeStorage(
        this.openStore(name, opts),
        (err) => this.failed(name, err),
        (fn, ms) => node.env.setTimer(fn, ms),
        opts.maxPendingBytes,
        opts.maxCommitBytes,
      );
      // Writes made outside a turn (after an await) still get committed.
      d.onDirty = () => node.requestTurn();
      return d;
    });
    return this.domains.get(domain);
  }

  /**
   * A commit failed. The actor's state in memory may hold what storage refused: its supervisor
   * decides (a restart rebuilds it from storage), once its current turn is over.
   */
  private failed(domain: string, err: unknown): void {
    const node = this.node;
    node.logSink('error', node.env.now(), node.name, `storage commit failed in domain ${domain}`, { error: err });
    if (!(err instanceof StorageCommitError)) return;
    const cell = node.cellOf(err.owner);
    if (cell?.receive === undefined) return;
    if (cell.busy) cell.pendingFailure = err;
    else node.failed(cell, err, 0);
  }

  /** Runs done once this actor's writes in each domain it used are synced (refused if any were refused). */
  afterDurable(cell: ActorCell, done: () => void, refused: (err: StorageCommitError) => void): void {
    whenAllDurable(cell.domainsUsed(), cell.id, done, refused);
  }

  /** A writer whose domain is over its byte bound waits: its next message waits for room. */
  hold(cell: ActorCell): void {
    if (cell.held) return;
    cell.held = true;
    void cell.domain!.room().then(() => {
      cell.held = false;
      this.node.env.promised?.();
      this.node.wake(cell);
    });
  }

  commitIfDirty(): void {
    this.domains?.commitIfDirty();
  }

  stats(): { commits: number; writes: number } {
    return this.domains?.stats() ?? { commits: 0, writes: 0 };
  }

  /** Commits what is dirty, waits for every domain to be synced, and closes them. */
  async close(): Promise<void> {
    await this.domains?.close();
  }
}
