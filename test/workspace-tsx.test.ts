import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const repo = join(import.meta.dirname, '..');

describe('the workspace under tsx', () => {
  it('runs the packages from their TypeScript source, worker threads included, with the @actorfs/source condition', async () => {
    const tsx = join(repo, 'node_modules', '.bin', 'tsx');
    const { stdout } = await promisify(execFile)(tsx, ['--conditions=@actorfs/source', join(repo, 'test', 'fixtures', 'tsx-counter.ts')], {
      cwd: repo,
      timeout: 60_000,
    });
    expect(stdout).toBe(`2\n${new URL('../packages/actors/src/index.ts', import.meta.url).href}\n`);
  }, 70_000);
});
