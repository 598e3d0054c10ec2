import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedApp, type EmbedApp } from '../examples/embed/app.ts';

const dataDirs: string[] = [];
afterAll(() => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

function freshDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'embed-test-'));
  dataDirs.push(d);
  return d;
}

interface Answer {
  status: number;
  body: { user?: string; count?: number; node?: string; error?: string };
}

async function call(app: EmbedApp, method: 'GET' | 'POST', path: string): Promise<Answer> {
  const r = await fetch(`${app.url}${path}`, { method });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}

const incr = (app: EmbedApp, user: string): Promise<Answer> => call(app, 'POST', `/users/${user}/incr`);
const get = (app: EmbedApp, user: string): Promise<Answer> => call(app, 'GET', `/users/${user}`);

/** Increments each user `times` times and returns the node each one lives on. */
async function placeUsers(app: EmbedApp, users: string[], times: number): Promise<Map<string, string>> {
  const nodes = new Map<string, string>();
  for (const user of users) {
    for (let i = 1; i <= times; i++) {
      const a = await incr(app, user);
      expect(a).toEqual({ status: 200, body: { user, count: i, node: expect.any(String) } });
      nodes.set(user, a.body.node!);
    }
  }
  return nodes;
}

const usersOn = (nodes: Map<string, string>, node: string): string[] => [...nodes].filter(([, n]) => n === node).map(([u]) => u);

describe('examples/embed: the runtime inside a Node HTTP server', () => {
  it('counts per user across worker nodes, and the counts survive a restart of the server', async () => {
    const dataDir = freshDataDir();
    let app = await startEmbedApp({ dataDir });
    try {
      for (let i = 1; i <= 3; i++) {
        expect(await incr(app, 'ada')).toEqual({ status: 200, body: { user: 'ada', count: i, node: expect.any(String) } });
      }
      await incr(app, 'grace');
      const stats = (await (await fetch(`${app.url}/stats`)).json()) as Array<{ node: string; actors: number }>;
      expect(stats.filter((s) => s.node !== 'main' && s.actors > 0).length).toBe(2);
      expect((await fetch(`${app.url}/nope`)).status).toBe(404);
      expect((await fetch(`${app.url}/users/ada`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await app.close();
    }
    app = await startEmbedApp({ dataDir });
    try {
      expect((await get(app, 'ada')).body).toMatchObject({ user: 'ada', count: 3 });
      expect((await get(app, 'grace')).body).toMatchObject({ user: 'grace', count: 1 });
    } finally {
      await app.close();
    }
  });

  it("while a worker is down its users get 503 and new users go to the live node; once it restarts, its users' counters come back from its store", async () => {
    const dataDir = freshDataDir();
    let app = await startEmbedApp({ dataDir, restartAfterMs: false });
    let onW1: string[] = [];
    let during = new Map<string, string>();
    try {
      const before = await placeUsers(app, Array.from({ length: 8 }, (_, i) => `early-${i}`), 2);
      onW1 = usersOn(before, 'w1');
      expect(onW1.length).toBeGreaterThan(0);
      expect(usersOn(before, 'w2').length).toBeGreaterThan(0);
      await app.system.killNode('w1');
      for (const user of onW1) {
        const a = await get(app, user);
        expect(a.status).toBe(503);
        expect(a.body.error).toContain('node w1, which is down');
      }
      during = await placeUsers(app, Array.from({ length: 6 }, (_, i) => `during-${i}`), 1);
      expect(usersOn(during, 'w2').length).toBe(6);

      await app.system.startNode('w1');
      for (const user of onW1) {
        expect(await get(app, user)).toEqual({ status: 200, body: { user, count: 2, node: 'w1' } });
        expect(await incr(app, user)).toEqual({ status: 200, body: { user, count: 3, node: 'w1' } });
      }
      for (const user of during.keys()) expect(await get(app, user)).toEqual({ status: 200, body: { user, count: 1, node: 'w2' } });
    } finally {
      await app.close();
    }
    // The placements are durable too: users placed while w1 was down are still found on w2.
    app = await startEmbedApp({ dataDir, restartAfterMs: false });
    try {
      for (const user of during.keys()) expect(await get(app, user)).toEqual({ status: 200, body: { user, count: 1, node: 'w2' } });
      for (const user of onW1) expect(await get(app, user)).toEqual({ status: 200, body: { user, count: 3, node: 'w1' } });
    } finally {
      await app.close();
    }
  });

  it('restarts a worker that crashed, by itself, and its users are served again', async () => {
    const app = await startEmbedApp({ dataDir: freshDataDir(), restartAfterMs: 200 });
    try {
      const nodes = await placeUsers(app, Array.from({ length: 8 }, (_, i) => `user-${i}`), 3);
      const onW2 = usersOn(nodes, 'w2');
      expect(onW2.length).toBeGreaterThan(0);
      await app.system.crashNode('w2');
      const deadline = Date.now() + 20_000;
      let answer = await get(app, onW2[0]!);
      while (answer.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        answer = await get(app, onW2[0]!);
      }
      for (const user of onW2) expect(await get(app, user)).toEqual({ status: 200, body: { user, count: 3, node: 'w2' } });
    } finally {
      await app.close();
    }
  });
});
