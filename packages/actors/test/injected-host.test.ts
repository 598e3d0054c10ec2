import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem } from '../src/index.ts';
import { DomainWriter } from './fixtures/domain-kinds.ts';
import { injectedLogFile } from './fixtures/injected-host.ts';
import { Recorder } from './fixtures/probes.ts';

describe('SystemOptions inject the store factory and the log sink', () => {
  it('every node, main and workers, opens its storage through the injected factory and logs to the injected sink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'injected-'));
    rmSync(injectedLogFile, { force: true });
    const dataDir = join(dir, 'data');
    const sys = await ActorSystem.start({
      workers: 1,
      dataDir,
      modules: [new URL('./fixtures/domain-kinds.ts', import.meta.url), new URL('./fixtures/probes.ts', import.meta.url)],
      storeModule: new URL('./fixtures/injected-host.ts', import.meta.url),
      logSinkModule: new URL('./fixtures/injected-sink.ts', import.meta.url),
    });
    try {
      for (const node of ['main', 'w1']) {
        const w = await sys.spawn(DomainWriter, {}, { node });
        expect(await sys.ask(w, { type: 'put', key: 'k', bytes: 10 })).toBe('k');
        expect(await sys.ask(w, { type: 'get', key: 'k' })).toBe(10);
        const r = await sys.spawn(Recorder, {}, { node, name: 'talker' });
        expect(await sys.ask(r, { type: 'log', text: `hello from ${node}` })).toBe(true);
      }
      // No LMDB environment was made for any node (the system's lock file is all there is).
      expect(existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f !== 'actors.lock') : []).toEqual([]);
      const lines = readFileSync(injectedLogFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { node: string; msg: string });
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ node: 'main', msg: 'hello from main' }),
          expect.objectContaining({ node: 'w1', msg: 'hello from w1' }),
        ]),
      );
    } finally {
      await sys.shutdown();
      rmSync(dir, { recursive: true, force: true });
      rmSync(injectedLogFile, { force: true });
    }
  });

  it('a module without a default export function is a clear error', async () => {
    await expect(ActorSystem.start({ storeModule: new URL('./fixtures/kinds.ts', import.meta.url) })).rejects.toThrow(/storeModule .* has no default export function/);
  });
});
