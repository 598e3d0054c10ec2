import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKER_FILE } from '../src/data-dir.ts';
import { runStart, type Ran } from './fixtures/processes.ts';

/** `pnpm start` refuses bad input before it starts any thread: a clear message, a non-zero exit, no stack trace. */
const dir = mkdtempSync(join(tmpdir(), 'actorfs-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectClear(r: Ran, code: number, message: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(message) });
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('pnpm start refuses', () => {
  it('a config with unknown keys or wrong types, naming each (exit 2)', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ htp: {}, gfs: { chunkservers: [{ name: 'cs1', rack: 'r', capacityBytes: -1 }] } }));
    const r = await runStart(['--config', file, '--data', join(dir, 'd1')]);
    expectClear(r, 2, /bad config .*bad.json: \n  - unknown key htp .*\n  - gfs.chunkservers\[0\].capacityBytes must be an integer from 1/s);
  }, 60_000);

  it('a config that is not JSON (exit 2)', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "http": ');
    expectClear(await runStart(['--config', file]), 2, /broken.json: not valid JSON/);
  }, 60_000);

  it('a bad argument (exit 2)', async () => {
    expectClear(await runStart(['--port', 'http']), 2, /a port is an integer from 0 to 65535/);
  }, 60_000);

  it('a data folder of another format, saying why an older one cannot be read (exit 3)', async () => {
    const data = join(dir, 'old-data');
    mkdirSync(data);
    writeFileSync(join(data, MARKER_FILE), JSON.stringify({ format: 1 }));
    expectClear(await runStart(['--data', data]), 3, /is of format 1, this actorfs reads format 2 \(format 1 ran one GFS master .* replicates it/);
  }, 60_000);

  it('a port in use (exit 4)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as { port: number };
    try {
      expectClear(await runStart(['--data', join(dir, 'd2'), '--port', String(port)]), 4, new RegExp(`port ${port} on 127.0.0.1 is in use`));
    } finally {
      taken.close();
    }
  }, 60_000);
});
