import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** The packages a module loads at run time, following its relative imports (type-only ones load nothing). */
function packagesLoadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const statements = text.match(/^(?:import|export)\s[^;]*?from\s+'[^']+'|^import\s+'[^']+'/gms) ?? [];
    for (const st of statements) {
      if (/^(?:import|export)\s+type\s/.test(st)) continue;
      const spec = /'([^']+)'$/.exec(st)![1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec.startsWith('node:') ? spec : spec.split('/')[0]!);
    }
  };
  visit(resolve(src, entry));
  return packages;
}

const hosts = ['lmdb', 'comlink', 'piscina'];

describe('entry points', () => {
  it.each(['core.ts', 'testing/index.ts'])('%s loads without LMDB, comlink or piscina', (entry) => {
    const loaded = packagesLoadedBy(entry);
    for (const host of hosts) expect(loaded.has(host)).toBe(false);
    expect(loaded.has('msgpackr')).toBe(true); // the walk does see packages
  });

  it('the main entry point brings the thread runtime and LMDB', () => {
    const loaded = packagesLoadedBy('index.ts');
    for (const host of hosts) expect(loaded.has(host)).toBe(true);
  });

  it('the core entry runs the simulator in a process that cannot load LMDB, comlink or piscina', async () => {
    const { execFileSync } = await import('node:child_process');
    // A loader hook in the child refuses those packages: importing core and testing must still work.
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(\`
        export async function resolve(spec, ctx, next) {
          if (/^(lmdb|comlink|piscina)(\\\\/|$)/.test(spec)) throw new Error('refused: ' + spec);
          return next(spec, ctx);
        }\`));
      const { register: tsx } = await import('tsx/esm/api');
      tsx();
      const core = await import(${JSON.stringify(resolve(src, 'core.ts'))});
      const testing = await import(${JSON.stringify(resolve(src, 'testing/index.ts'))});
      const sim = new testing.SimCluster({ seed: 1, nodes: ['a'] });
      const Echo = core.defineActor('entry.echo', (_p, ctx) => (m) => ctx.reply(m.n * 2));
      const r = sim.spawn('a', Echo, {});
      console.log(await sim.call(r, { type: 'x', n: 21 }));
      let refused = '';
      try { await import('lmdb'); } catch (e) { refused = String(e); }
      console.log(refused.includes('refused') ? 'lmdb refused' : 'lmdb loaded');
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: resolve(src, '..'), encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(['42', 'lmdb refused']);
  });
});
