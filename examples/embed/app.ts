import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActorSystem, hashString, type ActorRef } from '@actorfs/actors';
import { UserCounter, type UserCounterMsg } from './counter.ts';

export interface EmbedApp {
  url: string;
  system: ActorSystem;
  close(): Promise<void>;
}

/**
 * An ordinary Node HTTP server with the actor runtime inside: each user's counter is an actor,
 * spread over worker nodes by a hash of the user name.
 *   GET  /users/:name         -> { user, count }
 *   POST /users/:name/incr    -> { user, count }   (after the new count is durable)
 *   GET  /stats               -> every node's stats
 */
export async function startEmbedApp(opts: { port?: number; dataDir?: string; workers?: number } = {}): Promise<EmbedApp> {
  const system = await ActorSystem.start({
    workers: opts.workers ?? 2,
    modules: [new URL('./counter.ts', import.meta.url)],
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
  });
  const workers = system.nodes().filter((n) => n !== 'main');
  const counters = new Map<string, Promise<ActorRef<UserCounterMsg>>>();

  const counterFor = (user: string): Promise<ActorRef<UserCounterMsg>> => {
    let ref = counters.get(user);
    if (!ref) {
      const node = workers[(hashString(user) >>> 16) % workers.length]!;
      ref = system.spawn(UserCounter, {}, { node, name: `user-${user}` });
      counters.set(user, ref);
    }
    return ref;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/users\/([A-Za-z0-9_-]{1,64})(\/incr)?$/.exec(url.pathname);
    if (url.pathname === '/stats' && req.method === 'GET') {
      return send(res, 200, await Promise.all(system.nodes().map((n) => system.stats(n))));
    }
    if (!m) return send(res, 404, { error: 'not found: use /users/<name>, /users/<name>/incr or /stats' });
    const user = m[1]!;
    const counter = await counterFor(user);
    if (m[2] && req.method === 'POST') return send(res, 200, { user, count: await system.ask(counter, { type: 'increment', by: 1 }) });
    if (!m[2] && req.method === 'GET') return send(res, 200, { user, count: await system.ask(counter, { type: 'get' }) });
    return send(res, 405, { error: `${req.method} not allowed here` });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    system,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await system.shutdown();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
