import type { ActorSystem } from '@actorfs/actors';
import { cellRoot, ClientSession, LsClient, type ClientMsg, type HandleId, type LockMode, type Sequencer } from '@actorfs/lockservice';
import { queryCell } from './cell-query.ts';
import type { Cluster } from './cluster.ts';

/** Client sessions the CLI may name at once; one more is refused (close one with `lock release`'s --close). */
export const MAX_CLIENTS = 64;
/** Open handles one CLI client keeps; past it the oldest is closed. */
const MAX_HANDLES_PER_CLIENT = 256;
const SESSION_ASK_TIMEOUT_MS = 120_000;
const CLIENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** One holder of a lock, as the cell's database has it: `client` is its session's principal (the CLI's --client, or a GFS master replica's name). */
export interface HeldLock {
  path: string;
  client: string;
  session: number;
  mode: LockMode;
  generation: number;
}

export class BadRequestError extends Error {
  override name = 'BadRequestError';
}

export class CellUnavailableError extends Error {
  override name = 'CellUnavailableError';
}

interface NamedClient {
  client: LsClient;
  handles: Map<string, HandleId>;
}

/**
 * The lock-service sessions of CLI users, kept in this process: a CLI run names its client
 * (`--client alice`), and the session (a ClientSession actor on main) outlives the run, so a lock
 * acquired by one CLI run is held until a later run releases it, and another client is refused.
 */
export class LockClients {
  private readonly clients = new Map<string, Promise<NamedClient>>();

  constructor(
    private readonly system: ActorSystem,
    private readonly cluster: Cluster,
  ) {}

  /** A bare name (`jobs/leader`) is under the cell's root, /ls/actorfs/. */
  pathOf(name: string): string {
    const root = cellRoot(this.cluster.cell.config.db.cell);
    if (name.startsWith(`${root}/`)) return name;
    if (name.startsWith('/ls/')) throw new BadRequestError(`${name} is not in this system's cell; its names are under ${root}/`);
    return `${root}/${name.replace(/^\/+/, '')}`;
  }

  async acquire(clientName: string, name: string, mode: LockMode, waitMs: number): Promise<Sequencer> {
    const path = this.pathOf(name);
    const { client, handle } = await this.open(clientName, path, true);
    return waitMs > 0 ? client.acquire(handle, mode, waitMs) : client.tryAcquire(handle, mode);
  }

  async release(clientName: string, name: string): Promise<void> {
    const path = this.pathOf(name);
    const { client, handle } = await this.open(clientName, path, false);
    await client.release(handle);
  }

  async sequencer(clientName: string, name: string): Promise<Sequencer> {
    const { client, handle } = await this.open(clientName, this.pathOf(name), false);
    return client.getSequencer(handle);
  }

  /** Who holds the lock, from the cell's database. */
  async holders(name: string): Promise<HeldLock[]> {
    return this.heldLocks(this.pathOf(name));
  }

  /** Every held lock in the cell (the GFS master's too), by path; the cell lists MAX_HELD_LOCKS_LISTED at most. */
  async allHeld(): Promise<HeldLock[]> {
    return this.heldLocks(undefined);
  }

  private async heldLocks(path: string | undefined): Promise<HeldLock[]> {
    const held = await queryCell(this.cluster, { type: 'heldLocks', ...(path === undefined ? {} : { path }) });
    if (!held) throw new CellUnavailableError('no lock-service replica answered (the cell has no master now); try again');
    return held.locks.flatMap((l) => l.holders.map((h) => ({ path: l.path, client: h.principal, session: h.session, mode: l.mode, generation: l.generation })));
  }

  async read(clientName: string, name: string): Promise<Uint8Array> {
    const { client, handle } = await this.open(clientName, this.pathOf(name), false);
    return (await client.getContentsAndStat(handle)).contents;
  }

  async write(clientName: string, name: string, contents: Uint8Array): Promise<void> {
    const { client, handle } = await this.open(clientName, this.pathOf(name), true);
    await client.setContents(handle, contents);
  }

  async list(clientName: string, name: string): Promise<string[]> {
    const { client, handle } = await this.open(clientName, this.pathOf(name), false);
    return client.readdir(handle);
  }

  /** Each named client's session as its actor sees it (state, master). */
  async sessions(): Promise<Array<{ client: string; session: number | null; state: string; master: string | null }>> {
    const out = [];
    for (const [name, pending] of this.clients) {
      const status = await (await pending).client.status().catch(() => null);
      if (status) out.push({ client: name, session: status.session, state: status.state, master: status.master });
    }
    return out;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.values()].map(async (c) => (await c).client.closeSession().catch(() => undefined)));
  }

  private async open(clientName: string, path: string, create: boolean): Promise<{ client: LsClient; handle: HandleId }> {
    const named = await this.named(clientName);
    const known = named.handles.get(path);
    if (known !== undefined) return { client: named.client, handle: known };
    if (create) await this.makeParents(named.client, path);
    const { handle } = await named.client.open(path, create ? { create: 'ifAbsent' } : {});
    if (named.handles.size >= MAX_HANDLES_PER_CLIENT) {
      const [oldestPath, oldest] = named.handles.entries().next().value as [string, HandleId];
      named.handles.delete(oldestPath);
      await named.client.close(oldest).catch(() => undefined);
    }
    named.handles.set(path, handle);
    return { client: named.client, handle };
  }

  /** Creates the directories above `path` that are missing, below the cell's root (as mkdir -p). */
  private async makeParents(client: LsClient, path: string): Promise<void> {
    const root = cellRoot(this.cluster.cell.config.db.cell);
    const parts = path.slice(root.length + 1).split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const { handle } = await client.open(`${root}/${parts.slice(0, i).join('/')}`, { create: 'ifAbsent', kind: 'dir' });
      await client.close(handle);
    }
  }

  private named(clientName: string): Promise<NamedClient> {
    if (!CLIENT_NAME.test(clientName)) throw new BadRequestError(`bad client name ${JSON.stringify(clientName)}: 1-64 letters, digits, _ or -`);
    const known = this.clients.get(clientName);
    if (known) return known;
    if (this.clients.size >= MAX_CLIENTS) throw new BadRequestError(`${MAX_CLIENTS} clients are open already; use one of them (--client NAME)`);
    const plan = this.cluster.cell;
    const started = this.system
      .spawn(ClientSession, { config: plan.config, servers: plan.servers, principal: clientName }, { name: `cli-${clientName}` })
      .then((ref) => ({ client: new LsClient(ref, (r, msg) => this.system.ask(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: SESSION_ASK_TIMEOUT_MS })), handles: new Map<string, HandleId>() }));
    this.clients.set(clientName, started);
    started.catch(() => this.clients.delete(clientName));
    return started;
  }
}
