import { describe, expect, test } from '@jest/globals';
import type { LsResults, ServerMsg } from '../src/index.ts';
import { MAX_SESSION_LOOKUPS } from '../src/session-owners.ts';
import { groupClient, inSimCell, masterNode, recordedTerm, str, text } from './cell-harness.ts';

describe('session ownership', () => {
  test("a request naming another client's session without its secret is refused, also by a new master after failover", async () => {
    await inSimCell(31, async ({ sim, plan, clock }, a) => {
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
    });
  });

  test('a session whose open the master never heard answered is looked up: its secret is checked, and left silent it expires', async () => {
    await inSimCell(32, async ({ sim, plan, clock }) => {
      // Proposed straight to the group under the master's term, as the master's own proposal whose
      // answer it never heard. (A deposed master's, of an older term, is refused: deposed-master.test.ts.)
      const group = groupClient(sim, plan, clock);
      while ((await masterNode(sim, plan)) === undefined) await clock.sleep(50);
      const secret = 'f'.repeat(32);
      const term = await recordedTerm(sim, plan);
      const { session } = (await group.propose({ type: 'openSession', principal: 'alice', secret, term })) as LsResults['openSession'];
      const node = (await masterNode(sim, plan))!;
      const server = plan.servers.find((s) => s.node === node)!;
      const open = (sec: string) => sim.ask(server, { type: 'op', op: { type: 'open', session, path: '/ls/test/g', create: 'ifAbsent' }, secret: sec } as never, { timeoutMs: 1000 }) as Promise<{ ok: boolean; error?: { code: string } }>;
      expect(await open('guessed')).toMatchObject({ ok: false, error: { code: 'NOT_SESSION_OWNER' } });
      expect(await sim.ask(server, { type: 'keepAlive', session, acks: [], secret: 'guessed' } as never, { timeoutMs: 1000 })).toEqual({ ok: false, reason: 'unknownSession' });
      expect(await open(secret)).toMatchObject({ ok: true });
      // The database told the master of the open: a session of its own term, so no failover.
      expect(await sim.ask(server, { type: 'keepAlive', session, acks: [], secret } as never, { timeoutMs: 1000 })).toMatchObject({ ok: true, failover: false });
      const { leaseMs, gracePeriodMs } = plan.config.timing;
      await clock.sleep(leaseMs + gracePeriodMs + 1000);
      expect(await open(secret)).toMatchObject({ ok: false, error: { code: 'SESSION_UNKNOWN' } });
    });
  });

  test(`looks up at most ${MAX_SESSION_LOOKUPS} unknown sessions at once: one more is refused as UNAVAILABLE, and served again once they settle`, async () => {
    await inSimCell(33, async ({ sim, plan, clock }) => {
      let node: string | undefined;
      while ((node = await masterNode(sim, plan)) === undefined) await clock.sleep(50);
      const server = plan.servers.find((s) => s.node === node)!;
      // Sessions no one opened: each is looked up in the database, then refused there.
      const release = (session: number) =>
        sim.ask(server, { type: 'op', op: { type: 'release', session, handle: 1 }, secret: 'x' } as never, { timeoutMs: 5_000 }) as Promise<{ ok: boolean; error?: { code: string; message: string } }>;
      // Sent at once, ten past the bound (the first lookups may settle before the last requests arrive).
      const replies = await Promise.all(Array.from({ length: MAX_SESSION_LOOKUPS + 10 }, (_, i) => release(10_000 + i)));
      const codes = replies.map((r) => r.error?.code);
      const busy = replies.filter((r) => r.error?.code === 'UNAVAILABLE');
      expect(busy.length).toBeGreaterThan(0);
      expect(busy.length).toBeLessThanOrEqual(10);
      expect(busy[0]!.error!.message).toContain(`looking up ${MAX_SESSION_LOOKUPS} sessions`);
      expect(codes.filter((c) => c === 'SESSION_UNKNOWN').length).toBe(replies.length - busy.length);
      expect(await release(20_000)).toMatchObject({ ok: false, error: { code: 'SESSION_UNKNOWN' } });
    }, { clients: 0 });
  });
});
