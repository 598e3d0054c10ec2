/**
 * `pnpm bench [suite…]`: runs the named suites (all by default), prints one table per suite and
 * writes bench/results/<suite>.json as { suite, figures: { name: { value, unit } } }.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figures, Suite } from './suite.ts';

const suites: Record<string, () => Promise<Suite>> = {
  actors: async () => (await import('./suites/actors.ts')).suite,
  sim: async () => (await import('./suites/sim.ts')).suite,
  paxos: async () => (await import('./suites/paxos.ts')).suite,
  lockservice: async () => (await import('./suites/lockservice.ts')).suite,
  gfs: async () => (await import('./suites/gfs.ts')).suite,
};

const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : Object.keys(suites);
const unknown = names.filter((n) => !(n in suites));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
for (const name of names) {
  const suite = await suites[name]!();
  console.log(`\n== ${name} ==`);
  const figures: Figures = await suite.run((figure) => printRow(figure.name, figure.value, figure.unit, figure.goal));
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ suite: name, figures }, null, 2)}\n`);
  console.log(`wrote bench/results/${name}.json`);
}

function printRow(name: string, value: number, unit: string, goal?: string): void {
  const v = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  console.log(`${name.padEnd(40)} ${v.padStart(14)} ${unit.padEnd(8)} ${goal ?? ''}`);
}
