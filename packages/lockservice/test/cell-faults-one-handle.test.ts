import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { checkOperations, type FileInput, fileModel, type FileOutput, forEachSeed, historyRecorder, type LockInput, lockModel, type LockOutput, SimCluster, Sleeper, withSeed } from '@actorfs/actors/testing';
import { LsClientError, type LsClient } from '../src/index.ts';
import { WRITES_KEPT } from '../src/state.ts';
import { cellDb, masterNode, openRetrying, replicaProblems, SIM_CELL, simCell, simClient, str, text, withExpiries } from './cell-harness.ts';

const FILE = '/ls/test/f';
const BURSTS = 5;
/** Calls in flight on the one handle at once, at most: past the WRITES_KEPT outcomes a handle keeps. */
const MAX_BURST = WRITES_KEPT + 8;
const ENDED = new Set(['SESSION_EXPIRED', 'SESSION_UNKNOWN', 'HANDLE_UNKNOWN']);

const code = (err: unknown): string | undefined => (err instanceof LsClientError ? err.code : undefined);
/** The outcome is unknown: no answer (UNAVAILABLE), too old for the handle's window of outcomes, or the session ended meanwhile. */
const unknownOutcome = (err: unknown): boolean => ['UNAVAILABLE', 'ATTEMPT_FORGOTTEN'].includes(code(err) ?? '') || ENDED.has(code(err) ?? '');

/** One write call as the client saw it, in call order: acknowledged (its generation), refused, or unknown. */
interface WriteSeen {
  contents: string;
  outcome: { acked: number } | 'refused' | 'unknown';
}

/**
 * One run: a 3-replica cell under drops, duplicates, maybe reordering, and a master crash; one client
 * issues bursts of calls on one handle at once (writes with and without a generation, reads,
 * tries, acquires and releases of the handle's lock), and a second client reads the file
 * through its cache.
 */
async function oneHandleRun(seed: number): Promise<void> {
  const rnd = seededRandom(seed ^ 0x0e4a);
  // Reordering in half the runs: with it most of a burst's writes arrive after a later one and are
  // refused (ATTEMPT_DECIDED); without it (FIFO, as the real transports) a burst applies in order.
  const sim = new SimCluster({ seed, network: { drop: rnd() * 0.03, duplicate: rnd() * 0.05, delayMs: [1, 1 + Math.floor(rnd() * 10)], reorder: rnd() < 0.5 } });
  const plan = simCell(sim, { ...SIM_CELL, nodes: ['n0', 'n1', 'n2'] });
  const [writer, reader] = [simClient(sim, plan, 'c0', 'writer', 'ask'), simClient(sim, plan, 'c1', 'reader', 'ask')];
  const clock = new Sleeper(sim);
  const h = await clock.drive(openRetrying(writer, FILE));
  const hr = await clock.drive(openRetrying(reader, FILE, 'never'));
  const history = new OneHandleHistory();

  const faults = (async () => {
    await clock.sleep(100 + rnd() * 1500);
    const master = await masterNode(sim, plan);
    if (master === undefined) return;
    sim.crash(master);
    await clock.sleep(300 + rnd() * 1500);
    sim.restart(master);
  })();
  const writing = (async () => {
    const r = seededRandom(seed * 31 + 7);
    for (let b = 0; b < BURSTS && !history.ended; b++) {
      const size = 2 + Math.floor(r() * (MAX_BURST - 1));
      await Promise.all(Array.from({ length: size }, () => history.call(writer, h, r)));
      await clock.sleep(r() * 300);
    }
  })();
  const reading = (async () => {
    for (let n = 0; n < 30; n++) {
      await history.read(reader, hr, 'reader');
      await clock.sleep(50);
    }
  })();
  const all = Promise.all([writing, reading, faults]);
  expect(await clock.run(all, 120_000)).toBe(true);
  await all;
  sim.heal();
  await sim.runFor(500);

  expect(await replicaProblems(sim, plan)).toEqual([]);
  const node = (await clock.drive(cellDb(sim, plan))).inspect().nodes.get(FILE)!;
  history.check({ contents: str(node.contents), generation: node.contentGeneration });
}

/** What one run's calls saw, and the checks of it. Each call is a process of its own in the histories: they overlap. */
class OneHandleHistory {
  readonly files = historyRecorder<FileInput<string, string>, FileOutput<string>>();
  readonly locks = historyRecorder<LockInput<string>, LockOutput>();
  readonly writes: WriteSeen[] = [];
  /** Contents seen by any read. */
  readonly seen = new Set<string>();
  ended = false;
  private calls = 0;
  private lastAckedGeneration = 0;

  /** A name for the next call: its process in the histories, and its write's contents. */
  private next(): string {
    return `call-${this.calls++}`;
  }

  /** One call on the handle, of a kind drawn from `r`. */
  async call(c: LsClient, h: number, r: () => number): Promise<void> {
    const pick = r();
    if (pick < 0.1) return this.read(c, h, this.next());
    if (pick < 0.75) return this.write(c, h, pick < 0.5 ? undefined : this.lastAckedGeneration);
    return this.lock(c, h, pick < 0.85 ? 'tryAcquire' : pick < 0.9 ? 'acquire' : 'release');
  }

  async read(c: LsClient, h: number, process: string): Promise<void> {
    const id = this.files.invoke(process, { op: 'read', path: FILE });
    try {
      const got = await c.getContentsAndStat(h);
      this.seen.add(str(got.contents));
      this.files.ok(id, { contents: str(got.contents), generation: got.stat.contentGeneration });
    } catch (err) {
      if (!unknownOutcome(err)) throw err;
      this.ended ||= ENDED.has(code(err)!);
      this.files.info(id);
    }
  }

  private async write(c: LsClient, h: number, expected: number | undefined): Promise<void> {
    const seen: WriteSeen = { contents: this.next(), outcome: 'unknown' };
    this.writes.push(seen);
    const { contents } = seen;
    const id = this.files.invoke(contents, expected === undefined ? { op: 'write', path: FILE, contents } : { op: 'cas', path: FILE, expected, contents });
    try {
      const generation = (await c.setContents(h, text(contents), expected)).stat.contentGeneration;
      seen.outcome = { acked: generation };
      this.lastAckedGeneration = Math.max(this.lastAckedGeneration, generation);
      this.files.ok(id, generation);
    } catch (err) {
      if (code(err) === 'GENERATION_MISMATCH' || code(err) === 'ATTEMPT_DECIDED') {
        seen.outcome = 'refused';
        if (code(err) === 'GENERATION_MISMATCH') this.files.ok(id, false);
        else this.files.fail(id);
      } else if (unknownOutcome(err)) {
        this.ended ||= ENDED.has(code(err)!);
        this.files.info(id);
      } else throw err;
    }
  }

  private async lock(c: LsClient, h: number, op: 'tryAcquire' | 'acquire' | 'release'): Promise<void> {
    const id = this.locks.invoke(this.next(), op === 'release' ? { op, lock: FILE, holder: 'writer' } : { op, lock: FILE, holder: 'writer', mode: 'exclusive' });
    try {
      if (op === 'release') await c.release(h);
      const granted = op === 'tryAcquire' ? await c.tryAcquire(h, 'exclusive') : op === 'acquire' ? await c.acquire(h, 'exclusive', 300) : undefined;
      this.locks.ok(id, granted?.generation ?? true);
    } catch (err) {
      if (code(err) === 'NOT_HELD') this.locks.ok(id, false);
      // Its own holding (another call of the burst got it), or a copy of this very try refused earlier.
      else if (['ALREADY_HELD', 'ATTEMPT_DECIDED', 'TIMEOUT', 'LOCK_DELAY'].includes(code(err) ?? '')) this.locks.fail(id);
      else if (unknownOutcome(err)) {
        this.ended ||= ENDED.has(code(err)!);
        this.locks.info(id);
      } else throw err;
    }
  }

  /** Every claim of the run, against the file as the cell holds it at the end. */
  check(final: { contents: string; generation: number }): void {
    const acked = this.writes.filter((w) => typeof w.outcome === 'object');
    const unknown = this.writes.filter((w) => w.outcome === 'unknown');
    // Each acknowledged write applied once: one generation each, and no more writes applied than were not refused.
    expect(final.generation).toBeGreaterThanOrEqual(acked.length);
    expect(final.generation).toBeLessThanOrEqual(acked.length + unknown.length);
    // Applied in call order: acknowledged generations rise with the calls.
    const generations = acked.map((w) => (w.outcome as { acked: number }).acked);
    expect(generations).toEqual([...generations].sort((a, b) => a - b));
    expect(new Set(generations).size).toBe(generations.length);
    // The file ends as the last acknowledged write left it, or as a later write of unknown outcome did.
    const last = acked.at(-1);
    const finals = this.writes.slice(last ? this.writes.indexOf(last) : 0).filter((w) => w.outcome !== 'refused').map((w) => w.contents);
    if (!last) finals.push('');
    expect(finals).toContain(final.contents);
    // No refused write ever showed.
    const refused = this.writes.filter((w) => w.outcome === 'refused').map((w) => w.contents);
    expect(refused.filter((c) => this.seen.has(c) || c === final.contents)).toEqual([]);

    const files = checkOperations(fileModel<string, string>(''), this.files.operations(), { maxSteps: 1_000_000 });
    if (files.ok !== true) throw new Error(`file not linearizable: ${'reason' in files ? files.reason : 'timeout'}`);
    const lockOps = this.ended ? withExpiries(this.locks.operations(), ['writer']) : this.locks.operations();
    const locks = checkOperations(lockModel<string>(), lockOps, { maxSteps: 1_000_000 });
    if (locks.ok !== true) throw new Error(`lock not linearizable: ${'reason' in locks ? locks.reason : 'timeout'}`);
  }
}

/**
 * Seeds that found a fault, before its fix: 424 (beyond the CI count), a try granted and then
 * released by another call of the handle was answered ATTEMPT_DECIDED when asked again (read as
 * "never granted"); 164, a read asked for while the client's own write was under way left the
 * older value in the client's cache after the write's answer.
 */
const PINNED_SEEDS = [424, 164];

describe('one handle written by many calls at once, under faults', () => {
  it('applies each acknowledged write once and in call order, ends with the last acknowledged, and never shows a refused write', async () => {
    await forEachSeed(200, oneHandleRun);
  }, 600_000);

  it(`replays the seeds that each found a fault (${PINNED_SEEDS.join(', ')})`, async () => {
    for (const seed of PINNED_SEEDS) await withSeed(seed, oneHandleRun);
  }, 60_000);
});
