/**
 * `pnpm cli …` / `actorfs …`: the command-line client of a running system (`pnpm start`), over
 * its HTTP API on 127.0.0.1. Exit codes: 0 done, 1 refused or failed (the message says why),
 * 2 bad arguments, 3 no system answers.
 */
import { createReadStream, createWriteStream, readFileSync, statSync, unlinkSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiError, EXIT, SystemClient, UnreachableError } from './http-client.ts';
import { formatStatus, type StatusView } from './format.ts';
import { progress } from './progress.ts';

const DEFAULT_URL = 'http://127.0.0.1:7070';

interface Globals {
  url: string;
  json: boolean;
}

const program = new Command('actorfs')
  .description('Client of a running actorfs system (start it with `pnpm start`): files in GFS, locks and small files in the lock service, and the cluster itself.')
  .addOption(new Option('--url <url>', 'where the system serves its API').env('ACTORFS_URL').default(DEFAULT_URL))
  .option('--json', 'print results as JSON', false)
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

const globals = (): Globals => program.opts<Globals>();
const api = (): SystemClient => new SystemClient(checkedUrl(globals().url));

function checkedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error('not http');
    return u.href;
  } catch {
    throw new InvalidArgumentError(`--url must be an http:// URL, got ${JSON.stringify(url)}`);
  }
}

/** Prints a result: JSON with --json, else the human line (or nothing). */
function show(result: unknown, human?: string): void {
  if (globals().json) process.stdout.write(`${JSON.stringify(result ?? { ok: true })}\n`);
  else if (human !== undefined) process.stdout.write(`${human}\n`);
}

function remotePath(p: string): string {
  if (!p.startsWith('/')) throw new InvalidArgumentError(`a GFS path starts with /, got ${JSON.stringify(p)}`);
  return p;
}

function waitMs(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 600_000) throw new InvalidArgumentError('milliseconds from 0 to 600000');
  return n;
}

const mode = new Option('--mode <mode>', 'lock mode').choices(['exclusive', 'shared']).default('exclusive');
const client = new Option('--client <name>', 'the lock-service client (a session kept by the system across CLI runs)').default('cli');

// ---- files (GFS) ----

program
  .command('ls')
  .description('list a GFS directory')
  .argument('[path]', 'directory', remotePath, '/')
  .action(async (path: string) => {
    const entries = await api().json<Array<{ name: string; kind: string }>>('GET', '/api/files/ls', { path });
    show(entries, entries.map((e) => `${e.kind === 'dir' ? 'd' : '-'} ${e.name}${e.kind === 'dir' ? '/' : ''}`).join('\n') || '(empty)');
  });

program
  .command('stat')
  .description("a GFS file's size, chunks and replicas")
  .argument('<path>', 'file or directory', remotePath)
  .action(async (path: string) => {
    const s = await api().json<{ kind: string; sizeBytes: number; chunks: Array<{ handle: number; version: number; replicas: string[]; lengthBytes: number }> }>('GET', '/api/files/stat', { path });
    const lines = [`${path}: ${s.kind}${s.kind === 'file' ? `, ${s.sizeBytes} bytes in ${s.chunks.length} chunks` : ''}`];
    for (const [i, c] of s.chunks.entries()) lines.push(`  chunk ${i}: handle ${c.handle} v${c.version}, ${c.lengthBytes} bytes on ${c.replicas.join(', ') || 'no live replica'}`);
    show(s, lines.join('\n'));
  });

program
  .command('put')
  .description('copy a local file into GFS (streamed, with a progress bar)')
  .argument('<local>', 'local file')
  .argument('<remote>', 'GFS path (must not exist)', remotePath)
  .action(async (local: string, remote: string) => {
    let size: number;
    try {
      size = statSync(local).size;
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${local}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const bar = progress(`put ${remote}`, size, globals().json);
    try {
      const result = await api().upload<{ bytes: number }>('/api/files/data', { path: remote }, createReadStream(local).pipe(bar.counter()), size);
      show(result, `put ${local} -> ${remote}: ${bar.done()}`);
    } catch (err) {
      bar.fail();
      throw err;
    }
  });

program
  .command('get')
  .description('copy a GFS file to a local file (streamed, with a progress bar)')
  .argument('<remote>', 'GFS path', remotePath)
  .argument('<local>', 'local file (overwritten)')
  .action(async (remote: string, local: string) => {
    const res = await api().download('/api/files/data', { path: remote });
    const bar = progress(`get ${remote}`, Number(res.headers['content-length'] ?? 0), globals().json);
    try {
      await pipeline(res, bar.counter(), createWriteStream(local));
      show({ bytes: Number(res.headers['content-length'] ?? 0) }, `get ${remote} -> ${local}: ${bar.done()}`);
    } catch (err) {
      bar.fail();
      try {
        unlinkSync(local);
      } catch {
        // nothing was written
      }
      throw err;
    }
  });

program
  .command('cat')
  .description('print a GFS file: its bytes as stored, or with --records the records appended to it')
  .argument('<path>', 'GFS path', remotePath)
  .option('--records', 'print the payloads of the records `append` added, each once and in file order')
  .action(async (path: string, o: { records?: boolean }) => {
    await pipeline(await api().download(o.records ? '/api/files/records' : '/api/files/data', { path }), process.stdout);
  });

program
  .command('append')
  .description('append one record to a GFS file (GFS record append, atomic among concurrent appenders; read them with cat --records): the text given, or a local file with --file')
  .argument('<path>', 'GFS path', remotePath)
  .argument('[text]', 'text to append (a newline is added)')
  .option('--file <local>', 'append the bytes of this local file instead')
  .action(async (path: string, text: string | undefined, o: { file?: string }) => {
    if ((text === undefined) === (o.file === undefined)) throw new InvalidArgumentError('give either TEXT or --file LOCAL');
    const data = o.file === undefined ? Buffer.from(`${text}\n`) : readLocal(o.file);
    const r = await api().json<{ offset: number }>('POST', '/api/files/append', { path }, data);
    show(r, `appended ${data.length} bytes as a record at offset ${r.offset}`);
  });

for (const [name, route, what] of [
  ['rm', 'rm', 'delete a GFS file (hidden, undeletable until it is reclaimed)'],
  ['undelete', 'undelete', 'bring back a deleted GFS file'],
  ['mkdir', 'mkdir', 'make a GFS directory'],
] as const) {
  program
    .command(name)
    .description(what)
    .argument('<path>', 'GFS path', remotePath)
    .action(async (path: string) => show(await api().json('POST', `/api/files/${route}`, { path }), `${name} ${path}: done`));
}

program
  .command('mv')
  .description('rename a GFS file or directory')
  .argument('<from>', 'GFS path', remotePath)
  .argument('<to>', 'GFS path', remotePath)
  .action(async (from: string, to: string) => show(await api().json('POST', '/api/files/mv', { from, to }), `mv ${from} ${to}: done`));

program
  .command('snapshot')
  .description('copy-on-write snapshot of a GFS file or directory')
  .argument('<source>', 'GFS path', remotePath)
  .argument('<target>', 'GFS path', remotePath)
  .action(async (source: string, target: string) => show(await api().json('POST', '/api/files/snapshot', { source, target }), `snapshot ${source} -> ${target}: done`));

// ---- locks and small files (lock service) ----

const lock = program.command('lock').description('advisory locks in the lock service (a name like jobs/leader is the file /ls/actorfs/jobs/leader)');

lock
  .command('acquire')
  .description('take a lock now (or wait up to --wait ms); refused with exit 1 if another client holds it')
  .argument('<name>', 'lock file name')
  .addOption(client)
  .addOption(mode)
  .option('--wait <ms>', 'wait this long for the lock (default: do not wait)', waitMs, 0)
  .action(async (name: string, o: { client: string; mode: string; wait: number }) => {
    const s = await api().json<{ lock: string; mode: string; generation: number }>('POST', '/api/lock/acquire', { client: o.client, name, mode: o.mode, waitMs: o.wait });
    show(s, `${o.client} holds ${s.lock} (${s.mode}, generation ${s.generation})`);
  });

lock
  .command('release')
  .description('release a lock the client holds')
  .argument('<name>', 'lock file name')
  .addOption(client)
  .action(async (name: string, o: { client: string }) => show(await api().json('POST', '/api/lock/release', { client: o.client, name }), `${o.client} released ${name}`));

lock
  .command('holder')
  .description('who holds a lock')
  .argument('<name>', 'lock file name')
  .action(async (name: string) => {
    const r = await api().json<{ path: string; holders: Array<{ client: string; mode: string; generation: number }> }>('GET', '/api/lock/holder', { name });
    show(r, r.holders.length === 0 ? `${r.path}: free` : r.holders.map((h) => `${r.path}: ${h.client} (${h.mode}, generation ${h.generation})`).join('\n'));
  });

program
  .command('ls-lock')
  .description('every lock held, by whom')
  .action(async () => {
    const held = await api().json<Array<{ path: string; client: string; mode: string; generation: number }>>('GET', '/api/locks');
    show(held, held.map((h) => `${h.path}  ${h.client}  ${h.mode}  generation ${h.generation}`).join('\n') || 'no locks held');
  });

program
  .command('sequencer')
  .description("the client's sequencer for a lock it holds (to pass to servers that check it)")
  .argument('<name>', 'lock file name')
  .addOption(client)
  .action(async (name: string, o: { client: string }) => {
    const s = await api().json<{ lock: string; mode: string; generation: number }>('GET', '/api/lock/sequencer', { client: o.client, name });
    show(s, `${s.lock}:${s.mode}:${s.generation}`);
  });

program
  .command('lsread')
  .description('print a small file of the lock service')
  .argument('<name>', 'file name')
  .addOption(client)
  .action(async (name: string, o: { client: string }) => {
    const res = await api().download('/api/ls/read', { client: o.client, name });
    await pipeline(res, process.stdout);
  });

program
  .command('lswrite')
  .description('write a small file of the lock service (created if absent; at most 256 KiB)')
  .argument('<name>', 'file name')
  .argument('[text]', 'contents')
  .option('--file <local>', 'write the bytes of this local file instead')
  .addOption(client)
  .action(async (name: string, text: string | undefined, o: { client: string; file?: string }) => {
    if ((text === undefined) === (o.file === undefined)) throw new InvalidArgumentError('give either TEXT or --file LOCAL');
    const data = o.file === undefined ? Buffer.from(text!) : readLocal(o.file);
    show(await api().json('POST', '/api/ls/write', { client: o.client, name }, data), `wrote ${data.length} bytes to ${name}`);
  });

// ---- the cluster ----

program
  .command('status')
  .description('the lock cell, GFS and every node, as on the status page')
  .action(async () => {
    const s = await api().json<StatusView>('GET', '/api/status');
    show(s, formatStatus(s));
  });

program
  .command('kill-node')
  .description('kill a node as a crash would (its thread exits, unsynced writes lost)')
  .argument('<name>', 'node name (see status)')
  .action(async (name: string) => show(await api().json('POST', '/api/nodes/kill', { name }), `killed ${name}`));

program
  .command('restart-node')
  .description('start a killed node again; its actors reload their storage')
  .argument('<name>', 'node name (see status)')
  .action(async (name: string) => show(await api().json('POST', '/api/nodes/restart', { name }), `restarted ${name}`));

function readLocal(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // an InvalidArgumentError thrown by an action is a CommanderError that commander has not printed
    if (err instanceof InvalidArgumentError) {
      process.stderr.write(`actorfs: ${message}\n`);
      return EXIT.usage;
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`actorfs: ${message}\n`);
    if (err instanceof UnreachableError) return EXIT.unreachable;
    if (err instanceof ApiError) return err.status === 400 ? EXIT.usage : EXIT.failed;
    return EXIT.failed;
  }
}

process.exitCode = await main();
