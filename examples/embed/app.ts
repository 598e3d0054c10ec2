import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActorSystem, DeliveryError, type ActorRef } from '@actorfs/actors';
import { UserCounter, type UserCounterMsg } from './counter.ts';
import { UserDirectory } from './directory.ts';

export interface EmbedApp {
  url: string;
  system: ActorSystem;
  close(): Promise<void>;
}

export interface EmbedOptions {
  port?: number;
  dataDir?: string;
  workers?: number;
  /** A worker node that dies is started again after this long. Default 1,000; false: never (start it with system.startNode). */
  restartAfterMs?: number | false;
}

/** The user's counter is on a node that is down: its count is in that node's store, so it waits for the node. */
class NodeDownError extends Error {
  constructor(user: string, node: string) {
    super(`the counter of ${user} is on node ${node}, which is down; try again once it has restarted`);
  }
}

/**
 * An ordinary Node HTTP server with the actor runtime inside: each user's counter is an actor on
 * a worker node, which a directory actor on main chose among the live nodes when the user first
 * came. A worker that dies is started again, and its users' counters are spawned again on it
 * when next asked for, reloading their counts from its store; meanwhile those users get 503 and
 * new users go to the live nodes.
 *   GET  /users/:name         -> { user, count, node }
 *   POST /users/:name/incr    -> { user, count, node }   (after the new count is durable)
 *   GET  /stats               -> every live node's stats
 */
export async function startEmbedApp(opts: EmbedOptions = {}): Promise<EmbedApp> {
  const system = await ActorSystem.start({
    workers: opts.workers ?? 2,
    modules: [new URL('./counter.ts', import.meta.url)],
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
  });
  const directory = await system.spawn(UserDirectory, {}, { name: 'user-directory' });
  /** The counters spawned so far, each on its node; those of a node that goes down are forgotten. */
  const counters = new Map<string, { node: string; ref: Promise<ActorRef<UserCounterMsg>> }>();
  const restarts = new Set<NodeJS.Timeout>();
  let closing = false;
  const restartAfterMs = opts.restartAfterMs ?? 1_000;

  system.onNodeDown((node) => {
    for (const [user, c] of counters) if (c.node === node) counters.delete(user);
    if (closing || restartAfterMs === false) return;
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!closing) system.startNode(node).catch((err: unknown) => console.error(`restarting node ${node} failed:`, err));
    }, restartAfterMs);
    restarts.add(timer);
  });

  const counterFor = async (user: string): Promise<{ node: string; ref: Promise<ActorRef<UserCounterMsg>> }> => {
    const cached = counters.get(user);
    if (cached) return cached;
    const live = system.nodes().filter((n) => n !== 'main');
    const node = await system.ask(directory, { type: 'place', user, live });
    if (!system.nodes().includes(node)) throw new NodeDownError(user, node);
    const raced = counters.get(user);
    if (raced) return raced;
    const spawned = { node, ref: system.spawn(UserCounter, {}, { node, name: `user-${user}` }) };
    counters.set(user, spawned);
    // A spawn that failed (its node died meanwhile) is tried again by the next request.
    spawned.ref.catch(() => {
      if (counters.get(user) === spawned) counters.delete(user);
    });
    return spawned;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/users\/([A-Za-z0-9_-]{1,64})(\/incr)?$/.exec(url.pathname);
    if (url.pathname === '/stats' && req.method === 'GET') {
      return send(res, 200, await Promise.all(system.nodes().map((n) => system.stats(n))));
    }
    if (!m) return send(res, 404, { error: 'not found: use /users/<name>, /users/<name>/incr or /stats' });
    const user = m[1]!;
    const incr = m[2] !== undefined;
    if (req.method !== (incr ? 'POST' : 'GET')) return send(res, 405, { error: `${req.method} not allowed here` });
    const counter = await counterFor(user);
    const ref = await counter.ref;
    const count = await system.ask(ref, incr ? { type: 'increment', by: 1 } : { type: 'get' });
    return send(res, 200, { user, count, node: counter.node });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const nodeDown = err instanceof NodeDownError || (err instanceof DeliveryError && err.reason === 'node-down');
      send(res, nodeDown ? 503 : 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    system,
    close: async () => {
      closing = true;
      for (const t of restarts) clearTimeout(t);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await system.shutdown();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
