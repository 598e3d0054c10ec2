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

  it('shows the lock cell with its master and sessions, the GFS master with its backup and shadow and their log positions, and the chunkservers', async () => {
    await page.goto(`${sys.url}/`);
    await page.waitForFunction(`document.getElementById('summary').textContent.startsWith('updated')`);
    expect(await text('#gfs-master')).toMatch(/^gfs-master[12]$/);
    expect(Number(await text('#gfs-generation'))).toBeGreaterThanOrEqual(1);
    const master = await text('#gfs-master');
    const backup = master === 'gfs-master1' ? 'gfs-master2' : 'gfs-master1';
    const row = (node: string, cell: string): Promise<string> => text(`#gfs-replicas tr[data-name="${node}"] .${cell}`);
    // the files put above are in every replica's log; the backup and the shadow follow the master's
    await page.waitForFunction(`[...document.querySelectorAll('#gfs-replicas .lag-records')].every((td) => td.textContent === '0')`, undefined, { timeout: 30_000 });
    expect([await row(master, 'role'), await row(backup, 'role'), await row('gfs-shadow', 'role')]).toEqual(['master', 'backup', 'shadow']);
    const position = Number(await row(master, 'log'));
    expect(position).toBeGreaterThan(0);
    for (const node of [backup, 'gfs-shadow']) expect(Number(await row(node, 'log'))).toBeGreaterThanOrEqual(position);
    expect(await text(`#gfs-replicas tr[data-name="${backup}"]`)).toMatch(/yes$/); // in sync: the master waits for it
    // the locks as the cell's database has them: the GFS master's own among them
    expect(await text('#locks')).toContain(`/ls/actorfs/gfs/master${master}exclusive`);
    // the lock cell's leader lease with its deadline
    expect(await text(`#replicas tr[data-name="${await text('#cell-master')}"] .lease`)).toMatch(/^held until \d\d:\d\d:\d\d\.\d \(\d+\.\d s\)$/);
    expect(await text('#cell-master')).toMatch(/^ls[1-5]$/);
    // alice's and bob's sessions from the lock test, at least
    expect(Number(await text('#sessions'))).toBeGreaterThanOrEqual(2);
    expect(await text('#clients')).toMatch(/alice.*live/s);
    for (const cs of ['cs1', 'cs2', 'cs3']) expect(await text(`#chunkservers tr[data-name="${cs}"] .state`)).toBe('up');
    expect(await text('#chunkservers')).toMatch(/rack-a.*rack-b/s);
    expect(Number(await text('#files'))).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#chart path').count()).toBe(1);
    expect(await page.locator('#nodes tbody tr').count()).toBe(11);
  }, 120_000);

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
    await page.waitForFunction(`document.querySelector('#chunkservers tr[data-name="${victim.name}"] .state').textContent === 'down'`, undefined, { timeout: 30_000 });
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

  it('after kill-node of the GFS master mid-workload, the page shows the backup taking office; every file put before reads back byte-identical, new puts work, and restart-node brings the old master back as a backup', async () => {
    type Gfs = { master: { node: string | null; generation: number }; replicas: Array<{ node: string; role: string; inSync: boolean; lagRecords: number | null }> };
    const gfsStatus = async (): Promise<Gfs> => (JSON.parse((await cli(sys.url, '--json', 'status')).stdout) as { gfs: Gfs }).gfs;
    const before = await gfsStatus();
    const first = before.master.node!;
    const second = first === 'gfs-master1' ? 'gfs-master2' : 'gfs-master1';
    expect(before.replicas.find((r) => r.node === second)).toMatchObject({ role: 'backup', inSync: true });
    expect((await cli(sys.url, 'mkdir', '/ha')).code).toBe(0);
    // two writers put small files one after another, through the kill and the failover
    const acked = new Map<string, Buffer>();
    const refused: string[] = [];
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const path = `/ha/w${w}-${i}`;
        const local = join(dir, `ha-w${w}-${i}.bin`);
        const data = randomBytes(100_000 + i);
        writeFileSync(local, data);
        const put = await cli(sys.url, 'put', local, path);
        if (put.code === 0) acked.set(path, data);
        // only a put whose create the dying master logged, but never answered, may be refused (and says so)
        else refused.push(`${path}: ${put.stderr}`);
      }
    };
    const writers = [writer(1), writer(2)];
    const settle = async (what: string, done: () => boolean, timeoutMs: number): Promise<void> => {
      for (const end = Date.now() + timeoutMs; !done(); await new Promise((r) => setTimeout(r, 200))) {
        if (Date.now() > end) throw new Error(`${what} not within ${timeoutMs} ms`);
      }
    };
    await settle('two puts before the kill', () => acked.size >= 2, 60_000);
    expect((await cli(sys.url, 'kill-node', first)).code).toBe(0);
    const beforeKill = new Set(acked.keys());
    await page.waitForFunction(`document.getElementById('gfs-master').textContent === '${second}'`, undefined, { timeout: 90_000 });
    expect(await text(`#gfs-replicas tr[data-name="${first}"] .state`)).toBe('down');
    expect(await text(`#gfs-replicas tr[data-name="${second}"] .role`)).toBe('master');
    expect(Number(await text('#gfs-generation'))).toBeGreaterThan(before.master.generation);
    // a chunk's location comes from the new master (the process's master client had the old one cached)
    const [firstPut] = beforeKill;
    const stat = await cli(sys.url, '--json', 'stat', firstPut!);
    expect({ code: stat.code, error: stat.stderr }).toEqual({ code: 0, error: '' });
    expect((JSON.parse(stat.stdout) as { chunks: Array<{ replicas: string[] }> }).chunks[0]!.replicas.length).toBeGreaterThan(0);
    // the CLI works on through the failover: puts started after the kill succeed
    await settle('four puts after the kill', () => acked.size >= beforeKill.size + 4, 120_000);
    stop = true;
    await Promise.all(writers);
    expect(refused.length).toBeLessThanOrEqual(2);
    for (const r of refused) expect(r).toMatch(/may have been applied; the retry was refused/);
    for (const [path, data] of acked) {
      const back = join(dir, 'ha-back.bin');
      const get = await cli(sys.url, 'get', path, back);
      expect({ path, code: get.code, error: get.code === 0 ? '' : get.stderr }).toEqual({ path, code: 0, error: '' });
      expect({ path, same: readFileSync(back).equals(data) }).toEqual({ path, same: true });
    }
    expect((await cli(sys.url, 'restart-node', first)).code).toBe(0);
    await page.waitForFunction(`document.querySelector('#gfs-replicas tr[data-name="${first}"] .role').textContent === 'backup'`, undefined, { timeout: 60_000 });
    // it catches up from the new master's log and is waited for again
    let after = await gfsStatus();
    for (const end = Date.now() + 60_000; !after.replicas.some((r) => r.node === first && r.inSync && r.lagRecords === 0) && Date.now() < end; after = await gfsStatus());
    expect(after.master.node).toBe(second);
    expect(after.replicas.find((r) => r.node === first)).toMatchObject({ role: 'backup', inSync: true, lagRecords: 0 });
  }, 400_000);
});

describe('stopping and starting again', () => {
  it('SIGTERM stops every node cleanly; a new start on the same folder has the files', async () => {
    expect(await sys.stop()).toBe(0);
    expect(sys.output()).toMatch(/stopped \(\d+ nodes stopped cleanly\)/);
    sys = await startSystem(dataDir, port);
    expect(sys.output()).toMatch(/GFS master: gfs-master[12] \(lock generation \d+\)/);
    const ls = await cli(sys.url, '--json', 'ls', '/');
    expect(ls.stderr).toBe('');
    expect(JSON.parse(ls.stdout)).toContainEqual({ name: 'big.bin', kind: 'file' });
    const get = await cli(sys.url, 'get', '/big.bin', join(dir, 'after-restart.bin'));
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'after-restart.bin')).equals(readFileSync(join(dir, 'big.bin')))).toBe(true);
  }, 360_000);
});
