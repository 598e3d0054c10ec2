import { describe, expect, test } from '@jest/globals';
import { SimCluster, Sleeper } from '@actorfs/actors/testing';
import type { ServerMsg } from '../src/index.ts';
import { masterNode, simCell, simClient, str, text } from './cell-harness.ts';

describe('session ownership', () => {
  test("a request naming another client's session without its secret is refused, also by a new master after failover", async () => {
    const sim = new SimCluster({ seed: 31 });
    const plan = simCell(sim);
    const clock = new Sleeper(sim);
    const a = simClient(sim, plan, 'c0', 'a', 'ask');
    const run = async () => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      await a.setContents(handle, text('mine'));
      await a.tryAcquire(handle, 'exclusive');
      const session = (await a.status()).session!;
      const attempts = (secret?: string): ServerMsg[] => {
        const s = secret === undefined ? {} : { secret };
        return [
          { type: 'op', op: { type: 'setContents', session, handle, contents: text('theirs') }, ...s },
          { type: 'op', op: { type: 'release', session, handle }, ...s },
          { type: 'op', op: { type: 'closeSession', session }, ...s },
          { type: 'acquire', session, handle, mode: 'shared', timeoutMs: 10, ...s },
          { type: 'query', query: { type: 'getContentsAndStat', session, handle }, ...s },
          { type: 'query', query: { type: 'stat', session: 0, handle: 0 }, cache: { session, path: '/ls/test/f' }, ...s },
        ] as ServerMsg[];
      };
      const intrude = async () => {
        const node = (await masterNode(sim, plan))!;
        const master = plan.servers.find((s) => s.node === node)!;
        for (const secret of [undefined, 'guessed']) {
          for (const msg of attempts(secret)) {
            const reply = (await sim.ask(master, msg as never, { timeoutMs: 1000 })) as { ok: boolean; error?: { code: string } };
            expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_SESSION_OWNER' } });
          }
          const ka = await sim.ask(master, { type: 'keepAlive', session, acks: [], ...(secret ? { secret } : {}) } as never, { timeoutMs: 1000 });
          expect(ka).toEqual({ ok: false, reason: 'unknownSession' });
        }
      };
      await intrude();
      const old = (await masterNode(sim, plan))!;
      sim.crash(old);
      await clock.sleep(1500);
      sim.restart(old);
      expect(str((await a.getContentsAndStat(handle)).contents)).toBe('mine');
      await intrude();
      expect(str((await a.getContentsAndStat(handle)).contents)).toBe('mine');
      await a.release(handle);
      expect((await a.status()).state).toBe('live');
    };
    const done = run();
    expect(await clock.run(done, 60_000)).toBe(true);
    await done;
  });
});
