import { it } from '@jest/globals';
import { SimCluster, type SimSend } from '@actorfs/actors/testing';
import { haCell, Sleeper } from './ha-harness.ts';
it('debug', async () => {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  const sim = new SimCluster({ seed: 1, onSend: (s: SimSend) => { const k = `${(s.body as {type?: string})?.type ?? '?'}`; counts.set(k, (counts.get(k) ?? 0) + 1); },
    logSink: (lvl, time, source, msg, fields) => { if (lvl !== 'debug' || source.startsWith('master')) lines.push(`${Math.round(time)} ${lvl} ${source} ${msg} ${JSON.stringify(fields)}`); } });
  const sleeper = new Sleeper(sim);
  const cell = haCell(sim, sleeper);
  let step = 'start';
  const work = (async () => {
    await cell.client.call({ type: 'mkdir', path: '/d' });
    step = 'mkdir done';
    await cell.client.call({ type: 'create', path: '/d/f' });
    step = 'create done';
    return cell.client.call({ type: 'list', path: '/d' });
  })();
  work.catch((e) => console.log('ERR', e));
  for (let i = 0; i < 6; i++) {
    const t0 = Date.now();
    await sleeper.run(work, 500);
    console.log(sim.now(), Date.now() - t0, step, [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8));
  }
  console.log(lines.slice(0, 80).join('\n'));
}, 120000);
