import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActorSystem, type SystemOptions } from '../src/index.ts';
import { Stuck } from './fixtures/hardening-kinds.ts';
import { rejectionOf, runScenario } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'actors-options-'));
const aFile = join(scratch, 'a-file');
writeFileSync(aFile, 'not a directory');
const kindsPath = fileURLToPath(new URL('./fixtures/hardening-kinds.ts', import.meta.url));

describe('options are checked before anything starts, each a clear error naming the option', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['workers -1', { workers: -1 }, /option workers: -1 is not a whole number from 0 to 64/],
    ['workers NaN', { workers: Number.NaN }, /option workers: NaN/],
    ['workers 1.5', { workers: 1.5 }, /option workers: 1.5/],
    ['workers as a numeric string', { workers: '2' }, /option workers: "2" is neither a count nor a list of names/],
    ['1,000 workers', { workers: 1000 }, /option workers: 1000 is not a whole number from 0 to 64/],
    ['a worker named main', { workers: ['w1', 'main'] }, /option workers\[1\]: "main" is the main thread's node/],
    ['a worker name twice', { workers: ['w1', 'w2', 'w1'] }, /option workers\[2\]: "w1" is named twice/],
    ['a worker name with a path separator', { workers: ['a/b'] }, /option workers\[0\]: "a\/b" is not a node name/],
    ['a worker name ..', { workers: ['..'] }, /option workers\[0\]: "\.\." is not a node name/],
    ['an empty worker name', { workers: [''] }, /option workers\[0\]: "" is not a node name/],
    ['a worker named like the lock file', { workers: ['actors.lock'] }, /option workers\[0\]: "actors.lock" is the data directory's lock file/],
    ['a dataDir that is a file', { dataDir: aFile }, /option dataDir: .*a-file exists and is not a directory/],
    ['a dataDir that cannot be created', { dataDir: join(aFile, 'sub') }, /option dataDir: .*a-file\/sub cannot be created/],
    ['a module as a bare name', { modules: ['kinds.ts'] }, /option modules\[0\]: "kinds.ts" is not a URL, an absolute path or a path starting with \.\/ or \.\.\//],
    ['a module that is not a string or URL', { modules: [42] }, /option modules\[0\]: 42 is neither a URL nor a path/],
    ['a module that does not exist', { modules: [join(scratch, 'missing.ts')] }, /option modules\[0\]: file:.*missing.ts could not be imported/],
    ['mailboxCapacity 0', { mailboxCapacity: 0 }, /option mailboxCapacity: 0/],
    ['maxMessageBytes Infinity', { maxMessageBytes: Number.POSITIVE_INFINITY }, /option maxMessageBytes: Infinity/],
    ['defaultAskTimeoutMs over the timer limit', { defaultAskTimeoutMs: 2 ** 31 }, /option defaultAskTimeoutMs: 2147483648 is not a whole number from 1 to 2147483647/],
    ['controlTimeoutMs NaN', { controlTimeoutMs: Number.NaN }, /option controlTimeoutMs: NaN/],
    ['logLevel unknown', { logLevel: 'loud' }, /option logLevel: "loud" is not one of/],
    ['logFormat unknown', { logFormat: 'xml' }, /option logFormat: "xml" is not auto, text or json/],
    ['a domain\'s maxCommitBytes 0', { storageDomains: { bulk: { maxCommitBytes: 0 } } }, /option storageDomains\.bulk\.maxCommitBytes: 0 is not a whole number from 1/],
    ['a domain\'s maxPendingBytes NaN', { storageDomains: { bulk: { maxPendingBytes: Number.NaN } } }, /option storageDomains\.bulk\.maxPendingBytes: NaN/],
    ['a domain\'s syncMode unknown', { storageDomains: { bulk: { syncMode: 'fast' } } }, /option storageDomains\.bulk\.syncMode: "fast" is not sync or overlapping/],
    ['storageDomains not an object', { storageDomains: 'bulk' }, /option storageDomains: "bulk" is not an object of settings by domain name/],
  ];
  for (const [what, opts, message] of bad) {
    it(`${what}`, async () => {
      const err = await rejectionOf(ActorSystem.start(opts as SystemOptions));
      expect(err.message).toMatch(message);
    });
  }

  it('a module given as a path relative to process.cwd() is resolved against it', async () => {
    const rel = `./${relative(process.cwd(), kindsPath)}`;
    const sys = await ActorSystem.start({ workers: ['w1'], modules: [rel] });
    try {
      const s = await sys.spawn(Stuck, {}, { node: 'w1' });
      expect(await sys.ask(s, { type: 'ping' })).toBe('pong');
    } finally {
      await sys.shutdown();
    }
  });

  it('startNode checks the name too', async () => {
    const sys = await ActorSystem.start({});
    try {
      await expect(sys.startNode('../escape')).rejects.toThrow(/startNode: "..\/escape" is not a node name/);
      await expect(sys.startNode('main')).rejects.toThrow(/startNode: "main" is the main thread's node/);
    } finally {
      await sys.shutdown();
    }
  });
});

describe('a start that fails half way', () => {
  it('stops the workers it had started, so the process exits by itself', async () => {
    const run = await runScenario('failed-start', { limitMs: 100_000 });
    expect(run.results).toEqual([{ error: expect.stringMatching(/node w2 died during start: this module refuses to load on w2/) }]);
    expect(run.code).toBe(0); // not null: it was not killed at the limit
  });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));
