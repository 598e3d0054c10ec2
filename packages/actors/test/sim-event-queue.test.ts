import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '../src/random.ts';
import { EventQueue } from '../src/sim/event-queue.ts';

describe('the simulator event queue', () => {
  it('pops in (time, seq) order, as one heap would, when events are scheduled now and later while it runs', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = seededRandom(seed);
      const q = new EventQueue();
      const pending: Array<{ time: number; seq: number }> = [];
      let seq = 0;
      let now = 0;
      const schedule = (time: number): void => {
        const label = { time, seq: seq++ };
        pending.push(label);
        q.push(time, () => undefined).run = () => labels.push(label);
      };
      const labels: Array<{ time: number; seq: number }> = [];
      for (let i = 0; i < 50; i++) schedule(Math.floor(rnd() * 10));
      let popped = 0;
      while (q.size > 0) {
        const ev = q.pop()!;
        now = ev.time;
        ev.run();
        popped++;
        // Most events schedule more work: now (a node's next turn) or a little later (a delivery).
        if (popped < 2_000) for (let k = Math.floor(rnd() * 4); k > 0; k--) schedule(rnd() < 0.5 ? now : now + Math.floor(rnd() * 4));
      }
      const expected = [...pending].sort((a, b) => a.time - b.time || a.seq - b.seq);
      expect(labels).toEqual(expected);
      expect(labels.length).toBeGreaterThan(1_000);
    }
  });
});
