import { describe, expect, it } from '@jest/globals';
import { EventReceiver } from '../src/event-receiver.ts';

const answer = (term: string, firstSeq: number, events: string[], more: { eventsLost?: boolean; failover?: boolean } = {}) => ({ term, firstSeq, events, eventsLost: false, failover: false, ...more });

describe("the client's side of at-least-once events", () => {
  it('passes on each event once, in order, whatever copies the answers carry', () => {
    const r = new EventReceiver<string>();
    expect(r.seen).toBeUndefined();
    expect(r.receive(answer('t1', 1, ['a', 'b'])).events).toEqual(['a', 'b']);
    expect(r.seen).toEqual({ term: 't1', seq: 2 });
    // The answer to a retry sends b again with c.
    expect(r.receive(answer('t1', 2, ['b', 'c'])).events).toEqual(['c']);
    // A late copy of an old answer brings nothing, and does not move what was heard back.
    expect(r.receive(answer('t1', 1, ['a'])).events).toEqual([]);
    expect(r.seen).toEqual({ term: 't1', seq: 3 });
  });

  it("counts afresh under a new master's term, and hears its failover once", () => {
    const r = new EventReceiver<string>();
    r.receive(answer('t1', 1, ['a', 'b', 'c']));
    expect(r.receive(answer('t2', 1, ['x'], { failover: true }))).toEqual({ events: ['x'], lost: false, failover: true });
    expect(r.receive(answer('t2', 1, ['x', 'y'], { failover: true }))).toEqual({ events: ['y'], lost: false, failover: false });
  });

  it('hears a loss mark once', () => {
    const r = new EventReceiver<string>();
    r.receive(answer('t1', 1, ['a']));
    expect(r.receive(answer('t1', 4, ['d'], { eventsLost: true }))).toEqual({ events: ['d'], lost: true, failover: false });
    expect(r.receive(answer('t1', 4, ['d', 'e'], { eventsLost: true }))).toEqual({ events: ['e'], lost: false, failover: false });
  });
});
