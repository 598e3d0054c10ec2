import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { cli, freePort, startSystem, type StartedSystem } from './fixtures/processes.ts';

/**
 * The system as a person uses it: `pnpm start`'s program in a child process with a data folder
 * of its own, the CLI run as child processes against it, and the status page in headless Chromium.
 */
const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'actorfs-e2e-'));
const dataDir = join(dir, 'data');
let port: number;
let sys: StartedSystem;

beforeAll(async () => {
  port = await freePort();
  sys = await startSystem(dataDir, port);
}, 300_000);

afterAll(async () => {
  if (sys && sys.child.exitCode === null) await sys.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the CLI against a running system', () => {
  it('puts a 20 MiB file and gets it back byte-identical', async () => {
    const original = randomBytes(20 * 1024 * 1024);
    writeFileSync(join(dir, 'big.bin'), original);
    const put = await cli(sys.url, 'put', join(dir, 'big.bin'), '/big.bin');
    expect(put).toMatchObject({ code: 0 });
    expect(put.stdout).toMatch(/20971520 bytes in .* MiB\/s/);
    // not a terminal here: progress comes as plain lines
    expect(put.stderr).toMatch(/put \/big.bin: .* MiB/);
    const stat = await cli(sys.url, '--json', 'stat', '/big.bin');
    expect(JSON.parse(stat.stdout)).toMatchObject({ kind: 'file', sizeBytes: 20 * 1024 * 1024 });
    const get = await cli(sys.url, 'get', '/big.bin', join(dir, 'back.bin'));
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'back.bin')).equals(original)).toBe(true);
  }, 120_000);

  it('a lock acquired by one CLI client is refused to another until released', async () => {
    expect((await cli(sys.url, 'lock', 'acquire', 'jobs/leader', '--client', 'alice')).code).toBe(0);
    const refused = await cli(sys.url, 'lock', 'acquire', 'jobs/leader', '--client', 'bob');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/LOCK_HELD/);
    const holder = await cli(sys.url, '--json', 'lock', 'holder', 'jobs/leader');
    expect(JSON.parse(holder.stdout).holders).toEqual([expect.objectContaining({ client: 'alice', mode: 'exclusive' })]);
    expect((await cli(sys.url, 'lock', 'release', 'jobs/leader', '--client', 'alice')).code).toBe(0);
    expect((await cli(sys.url, 'lock', 'acquire', 'jobs/leader', '--client', 'bob')).code).toBe(0);
  }, 120_000);

  it('appends, cats, makes directories, moves, snapshots, deletes and undeletes files', async () => {
    const ok = async (...args: string[]): Promise<string> => {
      const r = await cli(sys.url, ...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      return r.stdout;
    };
    await ok('mkdir', '/logs');
    const offsetOf = (out: string, bytes: number): number => Number(new RegExp(`appended ${bytes} bytes as a record at offset (\\d+)`).exec(out)?.[1]);
    expect(offsetOf(await ok('append', '/logs/app.log', 'first'), 6)).toBe(0);
    // a record carries its header and id before the payload
    expect(offsetOf(await ok('append', '/logs/app.log', 'second'), 7)).toBeGreaterThan(6);
    expect(await ok('cat', '--records', '/logs/app.log')).toBe('first\nsecond\n');
    expect(await ok('cat', '/logs/app.log')).toMatch(/^GFSR[^]*first\n[^]*GFSR[^]*second\n$/);
    await ok('snapshot', '/logs', '/logs-snap');
    await ok('append', '/logs/app.log', 'third');
    // the snapshot keeps the bytes it had (its chunk was copied before the append wrote)
    expect(await ok('cat', '--records', '/logs-snap/app.log')).toBe('first\nsecond\n');
    expect(await ok('cat', '--records', '/logs/app.log')).toBe('first\nsecond\nthird\n');
    // appenders at once from separate processes: each record lands whole, once
    const writers = ['w1', 'w2', 'w3', 'w4'];
    await Promise.all(writers.map((w) => ok('append', '/logs/app.log', w)));
    const lines = (await ok('cat', '--records', '/logs/app.log')).split('\n');
    expect(lines.slice(0, 3)).toEqual(['first', 'second', 'third']);
    expect(lines.slice(3, -1).sort()).toEqual(writers);
    await ok('mv', '/logs/app.log', '/logs/old.log');
    expect(JSON.parse(await ok('--json', 'ls', '/logs'))).toEqual([{ name: 'old.log', kind: 'file' }]);
    await ok('rm', '/logs/old.log');
    const gone = await cli(sys.url, 'cat', '/logs/old.log');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/\/logs\/old.log does not exist/);
    await ok('undelete', '/logs/old.log');
    expect(await ok('cat', '--records', '/logs/old.log')).toBe(`first\nsecond\nthird\n${lines.slice(3, -1).join('\n')}\n`);
    await ok('lswrite', 'config/mode', 'fast');
    expect(await ok('lsread', 'config/mode')).toBe('fast');
  }, 300_000);

  it('arguments that make no sense get a clear message and exit code 2', async () => {
    const unknown = await cli(sys.url, 'frobnicate');
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const relative = await cli(sys.url, 'put', join(dir, 'big.bin'), 'no-slash');
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/a GFS path starts with \//);
    const missing = await cli(sys.url, 'put', join(dir, 'absent.bin'), '/x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*absent.bin: ENOENT/);
    const node = await cli(sys.url, 'kill-node', 'nonesuch');
    expect(node.code).toBe(2);
    expect(node.stderr).toMatch(/no node "nonesuch"; the nodes are ls1/);
    expect(`${unknown.stderr}${relative.stderr}${node.stderr}`).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);
});

describe('the status page in headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM)).toBe(true); // .ci/run installs Debian's chromium
    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await context?.close();
  });

  const text = async (selector: string): Promise<string> => (await page.locator(selector).textContent()) ?? '';

  it('shows the lock cell with its master and sessions, the GFS master and the chunkservers', async () => {
    await page.goto(`${sys.url}/`);
    await page.waitForFunction(`document.getElementById('summary').textContent.startsWith('updated')`);
    expect(await text('#gfs-master')).toMatch(/gfs-master\s+up/);
    expect(await text('#cell-master')).toMatch(/^ls[1-5]$/);
    // alice's and bob's sessions from the lock test, at least
    expect(Number(await text('#sessions'))).toBeGreaterThanOrEqual(2);
    expect(await text('#clients')).toMatch(/alice.*live/s);
    for (const cs of ['cs1', 'cs2', 'cs3']) expect(await text(`#chunkservers tr[data-name="${cs}"] .state`)).toBe('up');
    expect(await text('#chunkservers')).toMatch(/rack-a.*rack-b/s);
    expect(Number(await text('#files'))).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#chart path').count()).toBe(1);
    expect(await page.locator('#nodes tbody tr').count()).toBe(9);
  }, 60_000);

  it('after kill-node of a chunkserver, shows it down and the re-replication until no chunk is under-replicated', async () => {
    // the page's values as they change, to see the re-replication in progress
    await page.evaluate(`
      window.seen = [];
      for (const id of ['under-replicated', 'clones']) {
        const el = document.getElementById(id);
        new MutationObserver(() => window.seen.push(id + '=' + el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
      }
    `);
    // the chunkserver holding the most replicas (placement may leave one with none)
    const status = JSON.parse((await cli(sys.url, '--json', 'status')).stdout) as { gfs: { chunkservers: Array<{ name: string; chunks: number }> } };
    const victim = [...status.gfs.chunkservers].sort((a, b) => b.chunks - a.chunks)[0]!;
    expect(victim.chunks).toBeGreaterThan(0);
    const killed = await cli(sys.url, 'kill-node', victim.name);
    expect(killed.code).toBe(0);
    await page.waitForFunction(`document.querySelector('#chunkservers tr[data-name="${victim.name}"] .state').textContent === 'down'`, undefined, { timeout: 10_000 });
    await page.waitForFunction(`window.seen.some((v) => /^under-replicated=[1-9]/.test(v) || /^clones=[1-9]/.test(v))`, undefined, { timeout: 45_000 });
    await page.waitForFunction(`document.getElementById('under-replicated').textContent === '0' && document.getElementById('clones').textContent === '0'`, undefined, { timeout: 60_000 });
    const seen = (await page.evaluate('window.seen')) as string[];
    // (a clone may start and end between two of the page's updates, so it is not required to be seen)
    expect(seen.some((v) => /^clones=[1-9]/.test(v) && !/^clones=[1-9]: chunk \d+ cs\d→cs\d/.test(v))).toBe(false);
    expect(seen.some((v) => v.startsWith('clones=') && v.includes(victim.name))).toBe(false);
    // the data is all there on the two servers left
    const get = await cli(sys.url, 'get', '/big.bin', join(dir, 'after-kill.bin'));
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'after-kill.bin')).equals(readFileSync(join(dir, 'big.bin')))).toBe(true);
  }, 120_000);
});

describe('stopping and starting again', () => {
  it('SIGTERM stops every node cleanly; a new start on the same folder has the files', async () => {
    expect(await sys.stop()).toBe(0);
    expect(sys.output()).toMatch(/stopped \(\d+ nodes stopped cleanly\)/);
    sys = await startSystem(dataDir, port);
    const ls = await cli(sys.url, '--json', 'ls', '/');
    expect(JSON.parse(ls.stdout)).toContainEqual({ name: 'big.bin', kind: 'file' });
    const get = await cli(sys.url, 'get', '/big.bin', join(dir, 'after-restart.bin'));
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'after-restart.bin')).equals(readFileSync(join(dir, 'big.bin')))).toBe(true);
  }, 240_000);
});
