import { describe, expect, test } from '@jest/globals';
import { LsClient, LsClientError, SequencerGuard } from '../src/index.ts';
import { inSimCell, masterNode, replicaProblems, str, text } from './cell-harness.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof LsClientError) return err.code;
    throw err;
  }
}

describe('lock-service cell in the simulator', () => {
  test('a client opens a session, writes, reads (then from its cache), locks and unlocks; bad requests get typed errors', async () => {
    await inSimCell(1, async ({ sim, plan }, a) => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      await a.setContents(handle, text('one'));
      const first = await a.getContentsAndStat(handle);
      expect(str(first.contents)).toBe('one');
      expect(first.stat.contentGeneration).toBe(1);
      expect(first.cached).toBe(true);
      const seq = await a.tryAcquire(handle, 'exclusive');
      expect(seq.lock).toBe('/ls/test/f');
      await a.checkSequencer(seq);
      await a.release(handle);
      expect(await codeOf(a.release(handle))).toBe('NOT_HELD');
      expect(await codeOf(a.setContents(handle, text('x'), 7))).toBe('GENERATION_MISMATCH');
      expect(await codeOf(a.open('/ls/test/../x', { create: 'ifAbsent' }))).toBe('BAD_REQUEST');
      expect(await codeOf(a.getContentsAndStat(999))).toBe('HANDLE_UNKNOWN');
      expect(await codeOf(a.setContents(handle, new Uint8Array(256 * 1024 + 1)))).toBe('BAD_REQUEST');
      expect(await a.readdir((await a.open('/ls/test', { kind: 'dir' })).handle)).toEqual(['f']);
      expect(await replicaProblems(sim, plan)).toEqual([]);
    }, { mode: 'drive' });
  });

  test("another client's acknowledged write is never hidden by a cached copy", async () => {
    await inSimCell(2, async (_, a, b) => {
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await a.setContents(ha, text('v1'));
      expect(str((await b.getContentsAndStat(hb)).contents)).toBe('v1');
      expect((await b.getContentsAndStat(hb)).cached).toBe(true);
      for (const v of ['v2', 'v3']) {
        await a.setContents(ha, text(v));
        const seen = await b.getContentsAndStat(hb);
        expect(str(seen.contents)).toBe(v);
      }
      expect((await b.status()).cached).toBe(1);
      // A tryAcquire's grant changes the lock generation in the stat b caches.
      const seq = await a.tryAcquire(ha, 'exclusive');
      expect((await b.getContentsAndStat(hb)).stat.lockGeneration).toBe(seq.generation);
      await a.release(ha);
      const blocking = await a.acquire(ha, 'exclusive', 1000);
      expect((await b.getContentsAndStat(hb)).stat.lockGeneration).toBe(blocking.generation);
      // The acquirer's own cached stat goes too.
      await a.release(ha);
      const own = await b.tryAcquire(hb, 'exclusive');
      expect((await b.getContentsAndStat(hb)).stat.lockGeneration).toBe(own.generation);
    }, { clients: 2, mode: 'drive' });
  });

  test('a second write of a node waits, as the first does, for a cache holder that has not acknowledged', async () => {
    await inSimCell(3, async ({ sim, plan, clock }, a, b, c) => {
      // Reads of b's cache only (an asker that never answers: only the synchronous path can).
      const bCache = new LsClient(b.session, () => new Promise<never>(() => {}));
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      const hc = (await c.open('/ls/test/f')).handle;
      await a.setContents(ha, text('v1'));
      expect((await b.getContentsAndStat(hb)).cached).toBe(false);
      expect(str((await bCache.getContentsAndStat(hb)).contents)).toBe('v1');
      // b hears nothing more: a's write waits for b's lease to run out, and so must c's.
      sim.partition(['c1'], plan.config.nodes);
      const first = a.setContents(ha, text('v2'));
      await clock.sleep(20);
      await c.setContents(hc, text('v3'));
      const stale = await Promise.race([bCache.getContentsAndStat(hb).then((r) => str(r.contents)), clock.sleep(1).then(() => 'not served')]);
      expect(stale).toBe('not served');
      await first;
    }, { clients: 3, maxMs: 30_000 });
  });

  test('a client whose KeepAlive answer went missing drops its cache: the answer may have carried an invalidation', async () => {
    await inSimCell(4, async ({ sim, plan, clock }, a, b) => {
      const bCache = new LsClient(b.session, () => new Promise<never>(() => {}));
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await a.setContents(ha, text('v1'));
      await b.getContentsAndStat(hb);
      expect(str((await bCache.getContentsAndStat(hb)).contents)).toBe('v1');
      await clock.sleep(100);
      // The answer to b's held KeepAlive, which carries the invalidation of a's write, is lost.
      const master = (await masterNode(sim, plan))!;
      sim.partition([master], ['c1'], { oneWay: true });
      const write = a.setContents(ha, text('v2'));
      await clock.sleep(30);
      sim.heal();
      // b's retry is answered with a new lease (and nothing to invalidate); a's write waits out b's old lease.
      await write;
      const seen = await Promise.race([bCache.getContentsAndStat(hb).then((r) => str(r.contents)), clock.sleep(1).then(() => 'not served')]);
      expect(seen).toBe('not served');
      expect((await b.status()).state).toBe('live');
    }, { clients: 2, maxMs: 30_000 });
  });

  test("a client's own read in flight while it writes the node never caches the old value over its acknowledged write", async () => {
    await inSimCell(11, async ({ sim, plan }, a, b) => {
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent' })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await b.setContents(hb, text('v1'));
      // b goes, so a's write below waits for no other cache.
      await b.closeSession();
      const master = (await masterNode(sim, plan))!;
      // The answer to a's read is slow on the wire (not so slow that a KeepAlive answer sent
      // meanwhile would come after the lease); the answer to a's write, sent later, overtakes it.
      sim.setLink(master, 'c0', { delayMs: [150, 150], reorder: true }, true);
      let readAt = 0;
      const read = a.getContentsAndStat(ha).then((r) => ((readAt = sim.now()), r));
      // A few ms pass (status asks are events: a sleep would wake only at the next event, the slow answer).
      for (let i = 0; i < 10; i++) await a.status();
      sim.setLink(master, 'c0', { delayMs: [1, 1], reorder: true }, true);
      await a.setContents(ha, text('v2'));
      expect(readAt).toBe(0);
      expect(str((await read).contents)).toBe('v1');
      sim.heal();
      const after = await a.getContentsAndStat(ha);
      expect(str(after.contents)).toBe('v2');
      expect(after.stat.contentGeneration).toBe(2);
    }, { clients: 2, maxMs: 30_000 });
  });

  test("a cached read on the session actor's own thread is answered without a message, and only within its lease", async () => {
    await inSimCell(10, async ({ sim, plan }, a) => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      await a.setContents(handle, text('one'));
      // An asker that never answers: only the synchronous path can.
      const viewOnly = new LsClient(a.session, () => new Promise<never>(() => {}));
      const now = async <T>(p: Promise<T>): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
      const hit = await now(viewOnly.getContentsAndStat(handle));
      expect(hit).toMatchObject({ cached: true, stat: { contentGeneration: 1 } });
      expect(str((hit as { contents: Uint8Array }).contents)).toBe('one');
      // The actor's node dies; the view it shared stays behind, but serves nothing past the lease.
      sim.crash('c0');
      await sim.runFor(plan.config.timing.leaseMs);
      expect(await now(viewOnly.getContentsAndStat(handle))).toBe('pending');
    }, { mode: 'drive' });
  });

  test("a session's end drops other clients' cached copies of its ephemeral files before they go", async () => {
    await inSimCell(8, async (_, a, b) => {
      const ha = (await a.open('/ls/test/eph', { create: 'exclusive', ephemeral: true })).handle;
      await a.setContents(ha, text('here'));
      const hb = (await b.open('/ls/test/eph')).handle;
      await b.getContentsAndStat(hb);
      expect((await b.getContentsAndStat(hb)).cached).toBe(true);
      await a.closeSession();
      expect(await codeOf(b.getContentsAndStat(hb))).toBe('HANDLE_UNKNOWN');
    }, { clients: 2, mode: 'drive' });
  });

  test("a new master's session end drops other clients' cached copies of ephemeral files created under the old master", async () => {
    await inSimCell(9, async ({ sim, plan, clock }, a, b) => {
      const ha = (await a.open('/ls/test/eph', { create: 'exclusive', ephemeral: true })).handle;
      await a.setContents(ha, text('here'));
      const hb = (await b.open('/ls/test/eph')).handle;
      const old = (await masterNode(sim, plan))!;
      sim.crash(old);
      await clock.sleep(2000);
      sim.restart(old);
      expect(await masterNode(sim, plan)).not.toBe(old);
      await b.getContentsAndStat(hb);
      expect((await b.getContentsAndStat(hb)).cached).toBe(true);
      await a.closeSession();
      expect(await codeOf(b.getContentsAndStat(hb))).toBe('HANDLE_UNKNOWN');
    }, { clients: 2 });
  });

  test('a blocking acquire waits for the release, in order, and times out with TIMEOUT', async () => {
    await inSimCell(3, async ({ clock }, a, b, c) => {
      const [ha, hb, hc] = await Promise.all([a, b, c].map(async (x) => (await x.open('/ls/test/l', { create: 'ifAbsent' })).handle));
      const first = await a.acquire(ha!, 'exclusive', 1000);
      const waiting = b.acquire(hb!, 'exclusive', 5000);
      expect(await codeOf(c.acquire(hc!, 'exclusive', 300))).toBe('TIMEOUT');
      await clock.sleep(200);
      await a.release(ha!);
      const second = await waiting;
      expect(second.generation).toBeGreaterThan(first.generation);
    }, { clients: 3, maxMs: 30_000 });
  });

  test('session expiry releases locks with lock-delay and deletes ephemeral files; the old sequencer is rejected; a release has no delay', async () => {
    await inSimCell(4, async ({ sim, plan }, a, b) => {
      const la = (await a.open('/ls/test/l', { create: 'ifAbsent' })).handle;
      const lb = (await b.open('/ls/test/l')).handle;
      // A normal release: the lock is free at once.
      await a.tryAcquire(la, 'exclusive');
      await a.release(la);
      await b.tryAcquire(lb, 'exclusive');
      await b.release(lb);

      const old = await a.tryAcquire(la, 'exclusive');
      await a.open('/ls/test/eph', { create: 'exclusive', ephemeral: true });
      const dir = (await b.open('/ls/test', { kind: 'dir' })).handle;
      expect(await b.readdir(dir)).toContain('eph');
      // a's client goes silent: its session expires after its lease, and the one the answer to its
      // held KeepAlive granted.
      sim.crash('c0');
      await sim.runFor(2 * plan.config.timing.leaseMs + 300);
      expect(await b.readdir(dir)).not.toContain('eph');
      const delayed = await b.tryAcquire(lb, 'exclusive').catch((err: unknown) => err);
      expect(delayed).toMatchObject({ code: 'LOCK_DELAY', retryAfterMs: expect.any(Number), availableAt: expect.any(Number) });
      expect((delayed as LsClientError).retryAfterMs).toBeGreaterThan(0);
      expect((delayed as LsClientError).retryAfterMs).toBeLessThanOrEqual(plan.config.db.defaultLockDelayMs);
      await sim.runFor(plan.config.db.defaultLockDelayMs);
      const fresh = await b.tryAcquire(lb, 'exclusive');
      expect(fresh.generation).toBeGreaterThan(old.generation);
      expect(await codeOf(b.checkSequencer(old))).toBe('STALE_SEQUENCER');
      const guard = new SequencerGuard();
      expect(guard.check(fresh).ok).toBe(true);
      expect(guard.check(old).ok).toBe(false);
      expect(await replicaProblems(sim, plan)).toEqual([]);
    }, { clients: 2, mode: 'drive' });
  });

  test('sessions, handles and locks survive a master crash within the grace period; acknowledged writes stay', async () => {
    const { sim, plan } = await inSimCell(5, async ({ sim, plan, clock }, a) => {
      const h = (await a.open('/ls/test/f', { create: 'ifAbsent', events: ['contentsModified'] })).handle;
      await a.setContents(h, text('before'));
      const seq = await a.tryAcquire(h, 'exclusive');
      const master = (await masterNode(sim, plan))!;
      sim.crash(master);
      await clock.sleep(2000);
      sim.restart(master);
      const after = await masterNode(sim, plan);
      expect(after).toBeDefined();
      expect(str((await a.getContentsAndStat(h)).contents)).toBe('before');
      await a.setContents(h, text('after'));
      expect((await a.getSequencer(h)).generation).toBe(seq.generation);
      expect((await a.status()).state).toBe('live');
      const { events } = await a.watch();
      expect(events.some((e) => 'kind' in e && e.kind === 'safe' && e.failover)).toBe(true);
    });
    expect(await replicaProblems(sim, plan)).toEqual([]);
  });

  test('watched handles hear committed events', async () => {
    await inSimCell(6, async ({ sim }, a, b) => {
      const ha = (await a.open('/ls/test/f', { create: 'ifAbsent', events: ['contentsModified', 'lockAcquired'] })).handle;
      const hb = (await b.open('/ls/test/f')).handle;
      await b.setContents(hb, text('x'));
      await b.tryAcquire(hb, 'exclusive');
      await sim.runFor(100);
      const { events } = await a.watch();
      const kinds = events.filter((e): e is Extract<typeof e, { handle: number }> => 'handle' in e && e.handle === ha).map((e) => e.kind);
      expect(kinds).toEqual(['contentsModified', 'lockAcquired']);
    }, { clients: 2, mode: 'drive' });
  });

  test('watch with waitMs is answered when an event arrives (pushed, not polled), or empty when the wait runs out', async () => {
    await inSimCell(14, async ({ sim, plan, clock }, a, b) => {
      const ha = (await a.open('/ls/test/w', { create: 'ifAbsent', events: ['contentsModified'] })).handle;
      const hb = (await b.open('/ls/test/w')).handle;
      const started = sim.now();
      expect(await a.watch({ waitMs: 300 })).toEqual({ events: [], lost: false });
      expect(sim.now() - started).toBeGreaterThanOrEqual(300);
      const watching = a.watch({ waitMs: 20_000 });
      await clock.sleep(500);
      const wroteAt = sim.now();
      await b.setContents(hb, text('x'));
      const { events } = await watching;
      expect(events).toEqual([expect.objectContaining({ handle: ha, kind: 'contentsModified' })]);
      expect(sim.now() - wroteAt).toBeLessThan(plan.config.timing.leaseMs);
    }, { clients: 2 });
  });

  test('malformed requests to a server get BAD_REQUEST, and the cell keeps serving', async () => {
    await inSimCell(7, async ({ sim, plan }, a) => {
      const { handle } = await a.open('/ls/test/f', { create: 'ifAbsent' });
      const master = (await sim.call(plan.servers[0]!, { type: 'whoIsMaster' })).master!;
      const bad: unknown[] = [
        { type: 'nonsense' },
        { type: 'op', op: 'x' },
        { type: 'op', op: { type: 'expireSession', session: 1 } },
        { type: 'op', op: { type: 'setContents', session: 1, handle, contents: 'not bytes' } },
        { type: 'acquire', session: 1, handle, mode: 'exclusive', timeoutMs: Number.NaN },
        { type: 'keepAlive', session: -1, acks: [] },
        { type: 'query', query: { type: 'stat', session: 'x', handle: 1 } },
      ];
      for (const msg of bad) {
        const reply = (await sim.call(master, msg as never)) as { ok: boolean; error?: { code: string } };
        expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      }
      await a.setContents(handle, text('still serving'));
      expect(str((await a.getContentsAndStat(handle)).contents)).toBe('still serving');
      expect(await replicaProblems(sim, plan)).toEqual([]);
    }, { mode: 'drive' });
  });
});
