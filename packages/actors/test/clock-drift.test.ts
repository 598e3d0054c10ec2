import { describe, expect, it } from '@jest/globals';
import { defineActor, type ActorContext } from '../src/index.ts';
import { DriftingClocks, SimCluster } from '../src/testing/index.ts';

describe('simulated clock drift', () => {
  it('each clock runs at a rate within the bound, changing over a run, ahead of true time by at most the offset bound, never backwards', () => {
    const opts = { maxRate: 0.05, maxOffsetMs: 50, changeEveryMs: 100 };
    const clocks = new DriftingClocks(opts, 7);
    const rates = new Set<string>();
    for (const node of ['a', 'b', 'c']) {
      let last = clocks.read(node, 0);
      for (let t = 10; t <= 20_000; t += 10) {
        const now = clocks.read(node, t);
        const rate = (now - last) / 10;
        const inBounds = Math.abs(rate - 1) <= opts.maxRate + 1e-9 && now - t >= -1e-9 && now - t <= opts.maxOffsetMs + 1e-9;
        if (!inBounds) throw new Error(`${node} at ${t}: rate ${rate}, offset ${now - t}`);
        rates.add(`${node}:${rate.toFixed(4)}`);
        last = now;
      }
    }
    expect(rates.size).toBeGreaterThan(30); // rates differ between clocks and change over the run
    // The same seed gives the same clocks, whatever order they are read in.
    const [x, y] = [new DriftingClocks(opts, 7), new DriftingClocks(opts, 7)];
    x.read('a', 100);
    x.read('b', 3_000);
    expect(x.read('c', 5_000)).toBe(y.read('c', 5_000));
  });

  it('an actor\'s clock and timers follow its node\'s drifting clock in the simulator', async () => {
    type Msg = { type: 'start' } | { type: 'fire' };
    const seen: Array<{ node: string; local: number; at: number }> = [];
    let sim: SimCluster | undefined;
    const Timer = defineActor('test.drift-timer', (_p: Record<string, never>, ctx: ActorContext<Msg>) => (msg: Msg) => {
      if (msg.type === 'start') ctx.setTimer('t', 1_000, { type: 'fire' });
      else seen.push({ node: ctx.self.node, local: ctx.now(), at: sim!.now() });
    });
    sim = new SimCluster({ seed: 3, nodes: ['a', 'b'], clocks: { maxRate: 0.2, maxOffsetMs: 100, changeEveryMs: 10_000 } });
    for (const n of ['a', 'b']) sim.tell(sim.spawn(n, Timer, {}), { type: 'start' });
    await sim.runFor(2_000);
    expect(seen).toHaveLength(2);
    // A 1 s timer fires after 1 s of its node's clock: the two nodes' clocks differ, so true times differ.
    expect(seen[0]!.at).not.toBeCloseTo(seen[1]!.at, 0);
    for (const s of seen) expect(Math.abs(s.at - 1_000)).toBeLessThanOrEqual(1_000 * 0.25 + 1);
  });
});
