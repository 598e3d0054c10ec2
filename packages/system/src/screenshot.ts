/**
 * `pnpm screenshot`: starts the system in a fresh folder, runs a short workload (a file put, locks,
 * small files, a chunkserver killed so re-replication shows), and saves the status page as
 * bench/results/status-page.png, the README's picture.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parseConfig, withOverrides } from './config.ts';
import { startSystem } from './system.ts';

const OUT = join(import.meta.dirname, '..', '..', '..', 'bench', 'results', 'status-page.png');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'actorfs-screenshot-'));
const running = await startSystem(withOverrides(parseConfig({}), { dataDir: join(dir, 'data'), port: 0 }), (line) => console.log(line));
const call = async (method: string, path: string, body?: Uint8Array): Promise<void> => {
  const res = await fetch(`${running.url}${path}`, { method, ...(body ? { body } : {}) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
};
try {
  await call('PUT', '/api/files/data?path=/demo.bin', new Uint8Array(24 * 1024 * 1024).fill(7));
  for (const line of ['started', 'serving', 'ready']) await call('POST', '/api/files/append?path=/app.log', new TextEncoder().encode(`${line}\n`));
  await call('POST', '/api/lock/acquire?client=alice&name=jobs/leader');
  await call('POST', '/api/lock/acquire?client=bob&name=jobs/reports&mode=shared');
  for (let i = 0; i < 60; i++) {
    await call('POST', `/api/ls/write?client=carol&name=config/n${i % 5}`, new TextEncoder().encode(`value ${i}`));
    await call('GET', '/api/files/stat?path=/demo.bin');
    await new Promise((r) => setTimeout(r, 100));
  }
  await call('POST', '/api/nodes/kill?name=cs1');
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1100 } });
  const page = await context.newPage();
  await page.goto(`${running.url}/`);
  await page.waitForFunction(`document.querySelector('#chunkservers tr[data-name="cs1"] .state').textContent === 'down'`, undefined, { timeout: 15_000 });
  mkdirSync(join(OUT, '..'), { recursive: true });
  await page.screenshot({ path: OUT, fullPage: true });
  await context.close();
  console.log(`saved ${OUT}`);
} finally {
  await running.stop();
  rmSync(dir, { recursive: true, force: true });
}
