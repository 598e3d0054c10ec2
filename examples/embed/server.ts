/**
 * `pnpm start` (until the full system exists): the embedding example. Starts the HTTP server with
 * a data directory under the project, runs a short scripted workload you can watch, and keeps
 * serving until Ctrl-C. PORT and DATA_DIR override the defaults.
 */
import { join } from 'node:path';
import { startEmbedApp } from './app.ts';

const dataDir = process.env.DATA_DIR ?? join(import.meta.dirname, '..', '..', 'data', 'embed');
const app = await startEmbedApp({ port: Number(process.env.PORT ?? 3000), dataDir });
console.log(`embed example serving on ${app.url} (data in ${dataDir})`);

for (const user of ['ada', 'grace', 'edsger']) {
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${app.url}/users/${user}/incr`, { method: 'POST' });
    console.log(`POST /users/${user}/incr ->`, await r.json());
  }
}
const stats = (await (await fetch(`${app.url}/stats`)).json()) as Array<{ node: string; actors: number; messagesIn: number; storage: { commits: number } }>;
for (const s of stats) console.log(`node ${s.node}: ${s.actors} actors, ${s.messagesIn} messages in, ${s.storage.commits} synced commits`);
console.log(`try: curl -X POST ${app.url}/users/you/incr   (Ctrl-C to stop; counts persist across runs)`);

process.once('SIGINT', () => {
  void app.close().then(() => process.exit(0));
});
