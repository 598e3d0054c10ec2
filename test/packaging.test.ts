import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeFiles } from './readme-files.ts';

/**
 * The packages as a user outside this repository gets them: built, packed with `pnpm pack`,
 * installed with npm into a folder of its own, type-checked with `tsc --strict` against their
 * .d.ts and run with plain node. The app is the README's examples, taken from the README itself.
 */
const repo = join(import.meta.dirname, '..');
const PACKAGES = ['actors', 'paxos'];
const PNPM = 'pnpm@12.21.0';
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const app = mkdtempSync(join(tmpdir(), 'actorfs-app-'));
const tarballs = mkdtempSync(join(tmpdir(), 'actorfs-tarballs-'));
// npm's cache survives between runs, so only the first run downloads the dependencies.
const npmCache = join(repo, '.tmp', 'npm-cache');

afterAll(() => {
  for (const dir of [app, tarballs]) rmSync(dir, { recursive: true, force: true });
  for (const p of PACKAGES) rmSync(join(repo, 'packages', p, 'dist'), { recursive: true, force: true });
});

/** The child sees neither the pnpm script's npm_* settings nor a NODE_OPTIONS meant for this process. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS' && k !== 'ACTORS_LOG'));
  return { ...env, npm_config_update_notifier: 'false' };
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const npmInstall = (specs: string[]): Promise<string> =>
  run('npm', ['install', '--cache', npmCache, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs], app, 300_000);

function installedManifest(pkg: string): { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(app, 'node_modules', '@actorfs', pkg, 'package.json'), 'utf8'));
}

function workspaceVersion(pkg: string): string {
  return (JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Beside the README's examples: a piscina pool, whose threads must start without tsx too. */
const POOL_APP = {
  'pool-task.ts': 'export default function double(input: number): number {\n  return input * 2;\n}\n',
  'pool-main.ts': `import { ActorSystem, Pool } from '@actorfs/actors';

const system = await ActorSystem.start({ workers: 1 });
const pool = await system.spawn(Pool, { filename: new URL('./pool-task.js', import.meta.url).href }, { node: 'w1' });
console.log(\`pool: \${await system.ask(pool, { type: 'run', input: 21 }, { timeoutMs: 10_000 })}\`);
await system.shutdown();
`,
};

describe('the packages, installed from their tarballs outside the workspace', () => {
  beforeAll(async () => {
    mkdirSync(npmCache, { recursive: true });
    await run('npx', ['-y', PNPM, '-r', 'run', 'build'], repo, 480_000);
    for (const p of PACKAGES) await run('npx', ['-y', PNPM, 'pack', '--pack-destination', tarballs], join(repo, 'packages', p), 120_000);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'actorfs-app', private: true, type: 'module' }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], lib: ['ES2022'] } }),
    );
    for (const [name, code] of readmeFiles(readFileSync(join(repo, 'README.md'), 'utf8'))) writeFileSync(join(app, name), code);
    for (const [name, code] of Object.entries(POOL_APP)) writeFileSync(join(app, name), code);
    const packed = readdirSync(tarballs).map((f) => join(tarballs, f));
    await npmInstall([...packed, `@types/node@${workspaceVersion('@types/node')}`]);
  }, 1_200_000); // limits for a hang: on a loaded 2-core machine the build alone took over 180 s

  it('ship compiled JavaScript and declarations, with dependencies a registry can resolve and no tsx at run time', () => {
    for (const p of PACKAGES) {
      const root = join(app, 'node_modules', '@actorfs', p);
      expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(root, 'dist', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(root, 'src'))).toBe(false);
    }
    expect(existsSync(join(app, 'node_modules', '@actorfs', 'actors', 'dist', 'testing', 'index.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@actorfs', 'actors', 'dist', 'thread', 'worker-main.js'))).toBe(true);
    expect(installedManifest('paxos').dependencies).toEqual({ '@actorfs/actors': '0.1.0' });
    expect(Object.keys(installedManifest('actors').dependencies ?? {})).not.toContain('tsx');
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('every entry point in the exports maps imports with plain node and has its declarations', async () => {
    const specifiers: string[] = [];
    for (const p of PACKAGES) {
      const root = join(app, 'node_modules', '@actorfs', p);
      const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
      for (const [subpath, targets] of Object.entries(manifest.exports)) {
        expect(existsSync(join(root, targets.types!))).toBe(true);
        specifiers.push(join(`@actorfs/${p}`, subpath));
      }
    }
    expect(specifiers).toEqual(expect.arrayContaining(['@actorfs/actors', '@actorfs/actors/testing', '@actorfs/paxos']));
    const script = `for (const s of ${JSON.stringify(specifiers)}) console.log(s, Object.keys(await import(s)).length > 0);`;
    const out = await run(process.execPath, ['--input-type=module', '-e', script], app, 60_000);
    expect(out).toBe(specifiers.map((s) => `${s} true\n`).join(''));
  }, 180_000);

  it("the README's examples type-check with tsc --strict against the packages' declarations", async () => {
    expect([...readmeFiles(readFileSync(join(repo, 'README.md'), 'utf8')).keys()].sort()).toEqual(['counter.ts', 'main.ts', 'paxos.ts', 'sim.ts']);
    await run(process.execPath, [tsc, '-p', '.'], app, 120_000);
    expect(existsSync(join(app, 'main.js'))).toBe(true);
  }, 150_000);

  it("the README's actor example runs with plain node: a counter on a worker thread, then shutdown", async () => {
    expect(await run(process.execPath, ['main.js'], app, 60_000)).toBe('counter on w1: 2\n');
  }, 180_000);

  it("the README's simulation runs the same kinds with plain node", async () => {
    await run(process.execPath, ['sim.js'], app, 60_000);
  }, 180_000);

  it("the README's Paxos group elects a leader, commits a put and reads it back, with plain node", async () => {
    expect(await run(process.execPath, ['paxos.js'], app, 60_000)).toBe('x = 1\n');
  }, 180_000);

  it('a Pool runs a compiled task file in its threads, with plain node', async () => {
    expect(await run(process.execPath, ['pool-main.js'], app, 60_000)).toBe('pool: 42\n');
  }, 180_000);

  it('under tsx (installed by the app), worker threads load a TypeScript kinds module', async () => {
    await npmInstall([`tsx@${workspaceVersion('tsx')}`]);
    const main = readFileSync(join(app, 'main.ts'), 'utf8');
    writeFileSync(join(app, 'main-tsx.ts'), main.replace("new URL('./counter.js'", "new URL('./counter.ts'"));
    rmSync(join(app, 'counter.js'));
    expect(await run(join(app, 'node_modules', '.bin', 'tsx'), ['main-tsx.ts'], app, 60_000)).toBe('counter on w1: 2\n');
  }, 190_000);
});
