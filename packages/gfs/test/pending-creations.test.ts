import { describe, expect, it } from '@jest/globals';
import { PendingCreations } from '../src/master/pending-creations.ts';

describe('pending chunk creations (the master waits for every placed server to report a new chunk)', () => {
  it('a chunk is pending on each placed server until that server reports it', () => {
    const p = new PendingCreations();
    p.ordered(7, ['cs1', 'cs2', 'cs3'], 0);
    p.reported('cs2', 7);
    expect(p.on(7)).toEqual(['cs1', 'cs3']);
    p.reported('cs2', 7); // a second report changes nothing
    p.reported('cs1', 7);
    p.reported('cs3', 7);
    expect(p.on(7)).toEqual([]);
    expect(p.due(1_000, 200)).toEqual([]);
  });

  it('an order unanswered for the interval is due again, then not before another interval', () => {
    const p = new PendingCreations();
    p.ordered(1, ['cs1', 'cs2'], 100);
    p.ordered(2, ['cs3'], 250);
    expect(p.due(299, 200)).toEqual([]);
    expect(p.due(300, 200)).toEqual([{ handle: 1, servers: ['cs1', 'cs2'] }]);
    expect(p.due(450, 200)).toEqual([{ handle: 2, servers: ['cs3'] }]);
    expect(p.due(499, 200)).toEqual([]);
    expect(p.due(500, 200)).toEqual([{ handle: 1, servers: ['cs1', 'cs2'] }]);
  });

  it('a forgotten chunk or a new term leave nothing pending', () => {
    const p = new PendingCreations();
    p.ordered(1, ['cs1', 'cs2'], 0);
    p.ordered(3, ['cs3'], 0);
    p.forget(1);
    expect(p.on(1)).toEqual([]);
    p.clear();
    expect(p.due(10_000, 200)).toEqual([]);
  });
});
