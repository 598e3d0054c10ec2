import { request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** What the CLI's exit code says. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** The system answered with an error: its message, and the exit code that fits. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

/** Talks to a running system's HTTP API on 127.0.0.1. */
export class SystemClient {
  constructor(readonly baseUrl: string) {}

  async json<T>(method: 'GET' | 'POST', path: string, query: Record<string, string | number | undefined> = {}, body?: Uint8Array): Promise<T> {
    const res = await this.send(method, path, query, body);
    return JSON.parse((await readAll(res)).toString('utf8')) as T;
  }

  /** Streams `source` as the request body; `onBytes` hears each part sent. */
  async upload<T>(path: string, query: Record<string, string>, source: Readable, sizeBytes: number): Promise<T> {
    const res = await this.send('PUT', path, query, source, sizeBytes);
    return JSON.parse((await readAll(res)).toString('utf8')) as T;
  }

  /** The response of a GET whose body is bytes (the caller reads the stream). */
  download(path: string, query: Record<string, string>): Promise<IncomingMessage> {
    return this.send('GET', path, query);
  }

  private send(method: string, path: string, query: Record<string, string | number | undefined>, body?: Uint8Array | Readable, sizeBytes?: number): Promise<IncomingMessage> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      const length = body instanceof Uint8Array ? body.length : sizeBytes;
      if (length !== undefined) headers['content-length'] = String(length);
      const req = request(url, { method, headers }, (res) => {
        if ((res.statusCode ?? 500) < 400) return resolve(res);
        readAll(res).then((text) => {
          let parsed: { error?: string; code?: string } = {};
          try {
            parsed = JSON.parse(text.toString('utf8')) as typeof parsed;
          } catch {
            parsed = { error: text.toString('utf8') };
          }
          reject(new ApiError(res.statusCode ?? 500, parsed.error ?? `HTTP ${res.statusCode}`, parsed.code));
        }, reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || err.code === 'EHOSTUNREACH') {
          reject(new UnreachableError(`no actorfs system answers at ${this.baseUrl} (${err.code}); start one with \`pnpm start\`, or name it with --url or ACTORFS_URL`));
        } else reject(err);
      });
      if (body === undefined) req.end();
      else if (body instanceof Uint8Array) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of res as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}
