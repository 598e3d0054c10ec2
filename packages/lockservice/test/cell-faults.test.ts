import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { checkOperations, type FileInput, fileModel, type FileOutput, forEachSeed, historyRecorder, type LockInput, lockModel, type LockOutput, SimCluster, Sleeper } from '@actorfs/actors/testing';
import { LsClientError, type LsClient } from '../src/index.ts';
import { masterNode, openRetrying, unavailable, replicaProblems, SIM_CELL, simCell, simClient, str, text, withExpiries } from './cell-harness.ts';

const FILES = ['/ls/test/f0', '/ls/test/f1'];
const LOCK = '/ls/test/lock';
const OPS_PER_CLIENT = 8;
const ENDED = new Set(['SESSION_EXPIRED', 'SESSION_UNKNOWN', 'HANDLE_UNKNOWN']);

/**
 * One randomized run: a 3-replica cell under drops, duplicates, reordering, a partition and a
 * master crash, three clients writing, reading (from their caches too), CAS-ing and locking (at
 * once, and blocking with a timeout).
 */
async function chaosRun(seed: number): Promise<{ expired: number }> {
  const rnd = seededRandom(seed ^ 0x10c5);
  const sim = new SimCluster({ seed, network: { drop: rnd() * 0.03, duplicate: rnd() * 0.03, delayMs: [1, 1 + Math.floor(rnd() * 10)], reorder: true } });
  const plan = simCell(sim, { ...SIM_CELL, nodes: ['n0', 'n1', 'n2'] });
  const clients = ['c0', 'c1', 'c2'].map((n, i) => simClient(sim, plan, n, `client-${i}`, 'ask'));
  const clock = new Sleeper(sim);
  const files = fileModel<string, string>('');
  const fileHistory = historyRecorder<FileInput<string, string>, FileOutput<string>>();
  const lockHistory = historyRecorder<LockInput<string>, LockOutput>();
  let expired = 0;
  const ended: number[] = [];
  // Lock generations acknowledged (when), and reads of the lock file's stat that came back older.
  const granted: Array<{ at: number; generation: number }> = [];
  const staleLockReads: string[] = [];
  const grant = (generation: number): number => {
    granted.push({ at: sim.now(), generation });
    return generation;
  };

  // Set up before the faults: every client opens both files and the lock file.
  const handles: Array<Record<string, number>> = [];
  const setup = (async () => {
    for (const c of clients) {
      const h: Record<string, number> = {};
      for (const path of [...FILES, LOCK]) h[path] = await openRetrying(c, path);
      handles.push(h);
    }
  })();
  await clock.run(setup, 60_000);
  await setup;

  const faults = (async () => {
    await clock.sleep(200 + rnd() * 800);
    const master = await masterNode(sim, plan);
    if (master && rnd() < 0.8) {
      sim.crash(master);
      await clock.sleep(300 + rnd() * 1500);
      sim.restart(master);
    }
    if (rnd() < 0.5) {
      const lone = `n${Math.floor(rnd() * 3)}`;
      sim.isolate(lone);
      await clock.sleep(500 + rnd() * 1000);
      sim.heal();
    }
  })();

  async function work(c: LsClient, i: number, h: Record<string, number>): Promise<void> {
    const r = seededRandom(seed * 31 + i);
    for (let n = 0; n < OPS_PER_CLIENT; n++) {
      const pick = r();
      const path = FILES[Math.floor(r() * FILES.length)]!;
      if (pick < 0.08) {
        // A read (from the cache too) never shows a lock generation older than a grant acknowledged before it began.
        const at = sim.now();
        const newest = Math.max(0, ...granted.filter((g) => g.at < at).map((g) => g.generation));
        try {
          const got = await c.getContentsAndStat(h[LOCK]!);
          if (got.stat.lockGeneration < newest) staleLockReads.push(`client ${i} at ${at}: generation ${got.stat.lockGeneration} (cached: ${got.cached}) after ${newest} was granted`);
        } catch (err) {
          if (!unavailable(err)) throw err;
        }
      } else if (pick < 0.35) {
        const id = fileHistory.invoke(i, { op: 'read', path });
        try {
          const got = await c.getContentsAndStat(h[path]!);
          fileHistory.ok(id, { contents: str(got.contents), generation: got.stat.contentGeneration });
        } catch (err) {
          if (!unavailable(err)) throw err;
          fileHistory.info(id);
        }
      } else if (pick < 0.6) {
        const contents = `${i}.${n}`;
        const expected = r() < 0.5 ? undefined : (await c.stat(h[path]!).catch(() => undefined))?.contentGeneration;
        const id = fileHistory.invoke(i, expected === undefined ? { op: 'write', path, contents } : { op: 'cas', path, expected, contents });
        try {
          fileHistory.ok(id, (await c.setContents(h[path]!, text(contents), expected)).stat.contentGeneration);
        } catch (err) {
          if (err instanceof LsClientError && err.code === 'GENERATION_MISMATCH') fileHistory.ok(id, false);
          else if (unavailable(err)) fileHistory.info(id);
          else throw err;
        }
      } else if (pick < 0.7) {
        const id = lockHistory.invoke(i, { op: 'tryAcquire', lock: LOCK, holder: i, mode: 'exclusive' });
        try {
          lockHistory.ok(id, grant((await c.tryAcquire(h[LOCK]!, 'exclusive')).generation));
        } catch (err) {
          if (err instanceof LsClientError && err.code === 'LOCK_HELD') lockHistory.ok(id, false);
          // Refused for a reason the model cannot see (lock-delay after an expiry), or its own holding.
          // ATTEMPT_DECIDED: an earlier copy of this very try was refused (its answer was lost).
          else if (err instanceof LsClientError && (err.code === 'ALREADY_HELD' || err.code === 'LOCK_DELAY' || err.code === 'ATTEMPT_DECIDED')) lockHistory.fail(id);
          else if (unavailable(err)) lockHistory.info(id);
          else throw err;
        }
      } else if (pick < 0.8) {
        const id = lockHistory.invoke(i, { op: 'acquire', lock: LOCK, holder: i, mode: 'exclusive' });
        try {
          lockHistory.ok(id, grant((await c.acquire(h[LOCK]!, 'exclusive', 200 + Math.floor(r() * 800))).generation));
        } catch (err) {
          // Not granted within its timeout (a waiter whose try is in the log is not timed out), or its own holding.
          if (err instanceof LsClientError && (err.code === 'TIMEOUT' || err.code === 'ALREADY_HELD')) lockHistory.fail(id);
          else if (unavailable(err)) lockHistory.info(id);
          else throw err;
        }
      } else {
        const id = lockHistory.invoke(i, { op: 'release', lock: LOCK, holder: i });
        try {
          await c.release(h[LOCK]!);
          lockHistory.ok(id, true);
        } catch (err) {
          if (err instanceof LsClientError && err.code === 'NOT_HELD') lockHistory.ok(id, false);
          else if (unavailable(err)) lockHistory.info(id);
          else throw err;
        }
      }
      await clock.sleep(r() * 300);
    }
  }

  const workers = clients.map((c, i) =>
    work(c, i, handles[i]!).catch((err: unknown) => {
      // The session ended (the master saw its lease run out): this client stops, its last op pending.
      if (err instanceof LsClientError && ENDED.has(err.code)) {
        ended.push(i);
        return void expired++;
      }
      throw err;
    }),
  );
  const all = Promise.all([...workers, faults]);
  expect(await clock.run(all, 120_000)).toBe(true);
  await all;
  sim.heal();
  await sim.runFor(500);

  expect(await replicaProblems(sim, plan)).toEqual([]);
  expect(staleLockReads).toEqual([]);
  const fileCheck = checkOperations(files, fileHistory.operations(), { maxSteps: 1_000_000 });
  if (fileCheck.ok !== true) throw new Error(`files not linearizable: ${'reason' in fileCheck ? fileCheck.reason : 'timeout'}`);
  const lockCheck = checkOperations(lockModel<string>(), withExpiries(lockHistory.operations(), ended), { maxSteps: 1_000_000 });
  if (lockCheck.ok !== true) throw new Error(`locks not linearizable: ${'reason' in lockCheck ? lockCheck.reason : 'timeout'}`);
  return { expired };
}

describe('lock-service cell under faults', () => {
  // Seed 211 (beyond the default seeds; 13, 92 and 123 among them do it too, under this op mix): a
  // KeepAlive and its resend near the end of the client's lease are both lost while the master
  // stays; the session must survive. Seed 576 was pinned for this, but no longer replays it since
  // the op mix changed. (Seed 422's case, a
  // blocking acquire whose master lost mastership with its try in the log, no seed below 600
  // replays now: acquire-failover.test.ts sets it up.)
  it('keeps a session whose KeepAlive is lost twice near the end of its lease (seed 211)', async () => {
    await chaosRun(211);
  }, 60_000);

  it('keeps files and locks linearizable, caches fresh and the database consistent', async () => {
    let expired = 0;
    const seeds = await forEachSeed(200, async (seed) => {
      expired += (await chaosRun(seed)).expired;
    });
    // Sessions ride out a master crash within the grace period.
    expect(expired).toBeLessThan(seeds);
  }, 600_000);
});
