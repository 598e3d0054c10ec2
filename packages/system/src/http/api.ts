import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { DeliveryError } from '@actorfs/actors';
import { LsClientError, type LockMode } from '@actorfs/lockservice';
import { UnknownNodeError, type Cluster } from '../cluster.ts';
import type { Files } from '../files.ts';
import { BadRequestError, CellUnavailableError, type LockClients } from '../locks.ts';
import type { OpsRate } from '../ops-rate.ts';
import { readStatus } from '../status.ts';
import { statusPage } from './page.ts';

/** An append or lswrite body at most (put streams, so it has no such bound). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A blocking lock acquire waits at most this long. */
const MAX_WAIT_MS = 10 * 60_000;

export interface ApiDeps {
  cluster: Cluster;
  files: Files;
  locks: LockClients;
  ops: OpsRate;
  startedAt: number;
}

/** An error a client caused: its status and message go back as they are. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse, q: Query) => Promise<unknown>;

/**
 * The system's HTTP API (JSON, except file bytes), used by the CLI and the status page. Every
 * route is one of `ROUTES`; an unknown one is 404, a bad argument 400, a lock refused 409.
 */
export function apiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { cluster, files, locks, ops } = deps;
  const client = (q: Query): string => q.optional('client') ?? 'cli';
  const routes: Record<string, Handler> = {
    'GET /': async (_req, res) => sendHtml(res, statusPage()),
    'GET /api/status': () => readStatus(cluster, locks, ops, deps.startedAt),
    'GET /api/files/ls': (_req, _res, q) => files.list(q.required('path')),
    'GET /api/files/stat': (_req, _res, q) => files.stat(q.required('path')),
    'PUT /api/files/data': async (req, _res, q) => ({ bytes: await files.put(q.required('path'), req) }),
    'GET /api/files/data': async (_req, res, q) => streamFile(res, files, q.required('path')),
    'GET /api/files/records': async (_req, res, q) => streamRecords(res, files, q.required('path')),
    'POST /api/files/append': async (req, _res, q) => files.append(q.required('path'), await readBody(req)),
    'POST /api/files/rm': async (_req, _res, q) => files.remove(q.required('path')),
    'POST /api/files/undelete': async (_req, _res, q) => files.undelete(q.required('path')),
    'POST /api/files/mkdir': async (_req, _res, q) => files.mkdir(q.required('path')),
    'POST /api/files/mv': async (_req, _res, q) => files.rename(q.required('from'), q.required('to')),
    'POST /api/files/snapshot': async (_req, _res, q) => files.snapshot(q.required('source'), q.required('target')),
    'POST /api/lock/acquire': async (_req, _res, q) => locks.acquire(client(q), q.required('name'), lockMode(q.optional('mode') ?? 'exclusive'), q.integer('waitMs', 0, MAX_WAIT_MS) ?? 0),
    'POST /api/lock/release': async (_req, _res, q) => locks.release(client(q), q.required('name')),
    'GET /api/lock/holder': async (_req, _res, q) => ({ path: locks.pathOf(q.required('name')), holders: await locks.holders(q.required('name')) }),
    'GET /api/lock/sequencer': async (_req, _res, q) => locks.sequencer(client(q), q.required('name')),
    'GET /api/locks': async () => locks.allHeld(),
    'GET /api/ls/read': async (_req, res, q) => sendBytes(res, await locks.read(client(q), q.required('name'))),
    'POST /api/ls/write': async (req, _res, q) => locks.write(client(q), q.required('name'), await readBody(req)),
    'GET /api/ls/list': async (_req, _res, q) => locks.list(client(q), q.optional('name') ?? ''),
    'POST /api/nodes/kill': async (_req, _res, q) => cluster.killNode(q.required('name')),
    'POST /api/nodes/restart': async (_req, _res, q) => cluster.restartNode(q.required('name')),
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const handler = routes[route];
    if (!handler) {
      const known = Object.keys(routes).filter((r) => r.endsWith(` ${url.pathname}`));
      sendJson(res, known.length > 0 ? 405 : 404, { error: known.length > 0 ? `${req.method} not allowed on ${url.pathname} (${known.join(', ')})` : `no route ${url.pathname}` });
      return;
    }
    if (url.pathname.startsWith('/api/') && route !== 'GET /api/status') ops.add();
    handler(req, res, new Query(url.searchParams)).then(
      (result) => {
        if (!res.headersSent) sendJson(res, 200, result ?? { ok: true });
      },
      (err: unknown) => {
        const { status, body } = errorReply(err);
        if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
        else sendJson(res, status, body);
      },
    );
  };
}

class Query {
  constructor(private readonly params: URLSearchParams) {}

  required(name: string): string {
    const v = this.params.get(name);
    if (v === null || v === '') throw new HttpError(400, `missing query parameter ${name}`);
    return v;
  }

  optional(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  }
}

function lockMode(mode: string): LockMode {
  if (mode === 'exclusive' || mode === 'shared') return mode;
  throw new HttpError(400, `mode must be exclusive or shared, got ${JSON.stringify(mode)}`);
}

async function streamFile(res: ServerResponse, files: Files, path: string): Promise<void> {
  const { sizeBytes, kind } = await files.kindAndSize(path);
  if (kind === 'dir') throw new HttpError(400, `${path} is a directory`);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(sizeBytes) });
  await pipeline(Readable.from(files.read(path)), res);
}

async function streamRecords(res: ServerResponse, files: Files, path: string): Promise<void> {
  const records = files.records(path);
  // the first record (or the file's absence) is known before the status goes out
  const first = await records.next();
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (first.done) return void res.end();
  res.write(first.value);
  await pipeline(Readable.from(records), res);
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    total += part.length;
    if (total > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes; use put for large files`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Each failure as a status the CLI can act on, with the component's own message. */
function errorReply(err: unknown): { status: number; body: { error: string; code?: string } } {
  // an actor's refusal arrives as "<actor>@<node> failed: <Name>Error: <message>": the message is the news
  const message = (err instanceof Error ? err.message : String(err)).replace(/^\S+@\S+ failed: (\w*Error: )?/, '');
  if (err instanceof HttpError) return { status: err.status, body: { error: message, ...(err.code ? { code: err.code } : {}) } };
  if (err instanceof BadRequestError || err instanceof UnknownNodeError) return { status: 400, body: { error: message } };
  if (err instanceof LsClientError) {
    const conflict = err.code === 'LOCK_HELD' || err.code === 'LOCK_DELAY' || err.code === 'TIMEOUT' || err.code === 'EXISTS';
    return { status: err.code === 'NOT_FOUND' ? 404 : conflict ? 409 : 503, body: { error: message, code: err.code } };
  }
  if (err instanceof CellUnavailableError) return { status: 503, body: { error: message, code: 'UNAVAILABLE' } };
  if (err instanceof DeliveryError) return { status: 503, body: { error: `${message} (a node is down; restart-node brings it back)`, code: 'UNAVAILABLE' } };
  if (/does not exist|no deleted file|not-found|has no chunk/.test(message)) return { status: 404, body: { error: message, code: 'NOT_FOUND' } };
  if (/exists|is a directory|not a directory|bad path|invalid path|must |over the limit/i.test(message)) return { status: 400, body: { error: message } };
  return { status: 500, body: { error: message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

function sendBytes(res: ServerResponse, bytes: Uint8Array): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
  res.end(bytes);
}
