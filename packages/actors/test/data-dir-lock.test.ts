import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem } from '../src/index.ts';
import { rejectionOf } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'actors-lock-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('one data directory serves one system at a time', () => {
  it('a second system of this process is refused while the first runs, and may start once it has shut down', async () => {
    const dataDir = join(scratch, 'in-process');
    const first = await ActorSystem.start({ dataDir });
    const err = await rejectionOf(ActorSystem.start({ dataDir, workers: ['w1'] }));
    expect(err.message).toBe(`data directory ${dataDir} is already in use by another ActorSystem of this process`);
    await first.shutdown();
    expect(existsSync(join(dataDir, 'actors.lock'))).toBe(false);
    const second = await ActorSystem.start({ dataDir });
    await second.shutdown();
  });

  it('a system of another process holds it until that process ends; a lock its dead holder left is taken over', async () => {
    const dataDir = join(scratch, 'other-process');
    const script = new URL('./fixtures/run-scenario.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', script, 'hold-data-dir', dataDir], { cwd: new URL('..', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('"ready"') && resolve());
        child.on('exit', () => reject(new Error('the holder exited early')));
      });
      const err = await rejectionOf(ActorSystem.start({ dataDir }));
      expect(err.message).toMatch(new RegExp(`data directory ${dataDir} is already in use by process ${child.pid} \\(its lock file`));
    } finally {
      child.kill('SIGKILL'); // dies without releasing its lock file
      await new Promise((r) => child.once('exit', r));
    }
    expect(existsSync(join(dataDir, 'actors.lock'))).toBe(true);
    const after = await ActorSystem.start({ dataDir });
    await after.shutdown();
  });

  it('a lock file with no live process in it is taken over', async () => {
    const dataDir = join(scratch, 'garbage-lock');
    const first = await ActorSystem.start({ dataDir });
    await first.shutdown();
    writeFileSync(join(dataDir, 'actors.lock'), 'not a pid\n');
    const sys = await ActorSystem.start({ dataDir });
    await sys.shutdown();
  });
});
