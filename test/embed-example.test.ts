import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedApp } from '../examples/embed/app.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'embed-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('examples/embed: the runtime inside a Node HTTP server', () => {
  it('counts per user across worker nodes, and the counts survive a restart of the server', async () => {
    let app = await startEmbedApp({ dataDir });
    try {
      for (let i = 1; i <= 3; i++) {
        const r = await fetch(`${app.url}/users/ada/incr`, { method: 'POST' });
        expect(await r.json()).toEqual({ user: 'ada', count: i });
      }
      await fetch(`${app.url}/users/grace/incr`, { method: 'POST' });
      const stats = (await (await fetch(`${app.url}/stats`)).json()) as Array<{ node: string; actors: number }>;
      expect(stats.filter((s) => s.node !== 'main' && s.actors > 0).length).toBe(2);
      expect((await fetch(`${app.url}/nope`)).status).toBe(404);
      expect((await fetch(`${app.url}/users/ada`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await app.close();
    }
    app = await startEmbedApp({ dataDir });
    try {
      expect(await (await fetch(`${app.url}/users/ada`)).json()).toEqual({ user: 'ada', count: 3 });
      expect(await (await fetch(`${app.url}/users/grace`)).json()).toEqual({ user: 'grace', count: 1 });
    } finally {
      await app.close();
    }
  });
});
