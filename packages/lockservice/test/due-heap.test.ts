import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '@actorfs/actors';
import { DueHeap } from '../src/due-heap.ts';

describe('due times of many keys', () => {
  it('gives the earliest due time and takes exactly the keys due, as a plain scan of every key would', () => {
    const random = seededRandom(7);
    const heap = new DueHeap<number>();
    const plain = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 1_500; step++) {
      const key = Math.floor(random() * 500);
      const r = random();
      if (r < 0.6) {
        const at = now + Math.floor(random() * 1_000);
        heap.set(key, at);
        plain.set(key, at);
      } else if (r < 0.7) {
        heap.set(key, undefined);
        plain.delete(key);
      } else {
        now += Math.floor(random() * 50);
        const due = [...plain].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
        const taken = heap.takeDue(now);
        expect(new Set(taken)).toEqual(new Set(due.map(([k]) => k)));
        expect(taken.map((k) => due.find(([d]) => d === k)![1])).toEqual(due.map(([, at]) => at));
        for (const k of taken) plain.delete(k);
      }
      expect(heap.peek()).toBe(plain.size === 0 ? undefined : Math.min(...plain.values()));
      expect(heap.size).toBe(plain.size);
    }
  });
});
