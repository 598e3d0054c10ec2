import { describe, expect, it } from '@jest/globals';
import { EXPIRE_RETRY_MS, SessionLeases, type LeaseTiming } from '../src/index.ts';

const timing: LeaseTiming = { leaseMs: 12_000, answerBeforeEndMs: 1_000, gracePeriodMs: 45_000, maxPendingEvents: 3 };
type Ev = string;

function master(sessions: number[] = [], now = 0) {
  const leases = new SessionLeases<string, Ev>(timing);
  leases.step({ type: 'becameMaster', sessions }, now);
  return leases;
}

/** A session opened at `now` whose first KeepAlive (answered at once) has come and gone. */
function opened(leases: SessionLeases<string, Ev>, session: number, now = 0): void {
  leases.step({ type: 'sessionOpened', session }, now);
  leases.step({ type: 'keepAlive', session, from: 'first' }, now);
}

describe("the master's session leases", () => {
  it("answers a new session's first KeepAlive at once: the client's first lease began before the master's", () => {
    const leases = master();
    leases.step({ type: 'sessionOpened', session: 1 }, 0);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka1' }, 100)).toEqual([
      { type: 'answer', to: 'ka1', session: 1, leaseRemainingMs: 12_000, events: [], firstSeq: 1, eventsLost: false, failover: false },
    ]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka2' }, 150)).toEqual([]);
  });

  it("hears a session opened twice (its open's answer and the database's note) and keeps the first lease and held KeepAlive", () => {
    const leases = master();
    opened(leases, 1);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka1' }, 100)).toEqual([]);
    expect(leases.step({ type: 'sessionOpened', session: 1 }, 5_000)).toEqual([]);
    expect(leases.deadlineOf(1)).toBe(12_000);
    expect(leases.step({ type: 'tick' }, 11_000)).toEqual([{ type: 'answer', to: 'ka1', session: 1, leaseRemainingMs: 12_000, events: [], firstSeq: 1, eventsLost: false, failover: false }]);
  });

  it('holds a KeepAlive until the lease nears its end, then answers with a fresh lease', () => {
    const leases = master();
    opened(leases, 1);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka1' }, 100)).toEqual([]);
    expect(leases.nextWakeAt()).toBe(11_000);
    expect(leases.step({ type: 'tick' }, 10_999)).toEqual([]);
    expect(leases.step({ type: 'tick' }, 11_000)).toEqual([{ type: 'answer', to: 'ka1', session: 1, leaseRemainingMs: 12_000, events: [], firstSeq: 1, eventsLost: false, failover: false }]);
    expect(leases.deadlineOf(1)).toBe(23_000);
  });

  it("answers a client's retry at once: it lost an answer and does not know the lease the master granted", () => {
    const leases = master();
    opened(leases, 1);
    // Answered at 11 000 with a lease to 23 000; the answer is lost. The retry would be held to 22 000, past the client's own lease.
    leases.step({ type: 'keepAlive', session: 1, from: 'ka1' }, 100);
    leases.step({ type: 'tick' }, 11_000);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'retry', answerNow: true }, 11_900)).toEqual([
      { type: 'answer', to: 'retry', session: 1, leaseRemainingMs: 12_000, events: [], firstSeq: 1, eventsLost: false, failover: false },
    ]);
  });

  it('a client that keeps sending KeepAlives never expires', () => {
    const leases = master();
    opened(leases, 1);
    let now = 0;
    for (let round = 0; round < 50; round++) {
      leases.step({ type: 'keepAlive', session: 1, from: `ka${round}` }, now + 5);
      now = leases.nextWakeAt()!;
      const effects = leases.step({ type: 'tick' }, now);
      expect(effects.map((e) => e.type)).toEqual(['answer']);
    }
    expect(now).toBeGreaterThan(50 * 10_000);
  });

  it('answers early to carry events, in order, numbered one apart', () => {
    const leases = master();
    opened(leases, 1);
    leases.step({ type: 'keepAlive', session: 1, from: 'ka', ack: 0 }, 10);
    expect(leases.step({ type: 'events', session: 1, events: ['a', 'b'] }, 500)).toEqual([
      { type: 'answer', to: 'ka', session: 1, leaseRemainingMs: 12_000, events: ['a', 'b'], firstSeq: 1, eventsLost: false, failover: false },
    ]);
    leases.step({ type: 'events', session: 1, events: ['c'] }, 600);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka2', ack: 2 }, 700)).toMatchObject([{ type: 'answer', to: 'ka2', events: ['c'], firstSeq: 3 }]);
  });

  it('sends events again until the client acknowledges them: an answer that was lost loses nothing', () => {
    const leases = master();
    opened(leases, 1);
    leases.step({ type: 'keepAlive', session: 1, from: 'ka', ack: 0 }, 10);
    leases.step({ type: 'events', session: 1, events: ['a', 'b'] }, 500);
    // That answer was lost: the client's retry acknowledges nothing new, and gets both again, then more.
    leases.step({ type: 'events', session: 1, events: ['c'] }, 600);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'retry', answerNow: true, ack: 0 }, 900)).toMatchObject([{ type: 'answer', events: ['a', 'b', 'c'], firstSeq: 1 }]);
    // Heard up to b only (an older answer): c comes again, at once.
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka3', ack: 2 }, 950)).toMatchObject([{ type: 'answer', events: ['c'], firstSeq: 3 }]);
    // All heard: the next KeepAlive is held.
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka4', ack: 3 }, 1000)).toEqual([]);
  });

  it('at maxPendingEvents unacknowledged, drops them for one loss mark, said in every answer until acknowledged', () => {
    const leases = master();
    leases.step({ type: 'sessionOpened', session: 1 }, 0);
    leases.step({ type: 'events', session: 1, events: ['a', 'b'] }, 1);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka' }, 2)).toMatchObject([{ type: 'answer', events: ['a', 'b'], firstSeq: 1, eventsLost: false }]);
    // a and b not acknowledged yet: two more pass the bound of 3. The mark is number 3.
    leases.step({ type: 'events', session: 1, events: ['c', 'd'] }, 3);
    leases.step({ type: 'events', session: 1, events: ['e'] }, 4);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka2', ack: 2 }, 5)).toMatchObject([{ type: 'answer', events: ['e'], firstSeq: 4, eventsLost: true }]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka3', ack: 2 }, 6)).toMatchObject([{ type: 'answer', events: ['e'], firstSeq: 4, eventsLost: true }]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'ka4', ack: 4 }, 7)).toEqual([]);
  });

  it('expires a session whose lease ends with no KeepAlive held, once', () => {
    const leases = master();
    leases.step({ type: 'sessionOpened', session: 1 }, 0);
    opened(leases, 2);
    leases.step({ type: 'keepAlive', session: 2, from: 'ka' }, 0);
    expect(leases.step({ type: 'tick' }, 11_999)).toMatchObject([{ type: 'answer', session: 2 }]);
    expect(leases.step({ type: 'tick' }, 12_000)).toEqual([{ type: 'proposeExpire', session: 1 }]);
    expect(leases.step({ type: 'tick' }, 13_000)).toEqual([]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'late' }, 13_001)).toEqual([{ type: 'refuse', to: 'late', session: 1, reason: 'sessionExpired' }]);
    leases.step({ type: 'sessionEnded', session: 1 }, 13_002);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'later' }, 13_003)).toEqual([{ type: 'refuse', to: 'later', session: 1, reason: 'unknownSession' }]);
  });

  it('proposes a failed expiry again after EXPIRE_RETRY_MS, one at a time, while it is master', () => {
    const leases = master();
    leases.step({ type: 'sessionOpened', session: 1 }, 0);
    expect(leases.step({ type: 'tick' }, 12_000)).toEqual([{ type: 'proposeExpire', session: 1 }]);
    // No answer from the database for a while: the proposal failed, outcome unknown.
    leases.step({ type: 'expireFailed', session: 1 }, 14_000);
    expect(leases.nextWakeAt()).toBe(14_000 + EXPIRE_RETRY_MS);
    expect(leases.step({ type: 'tick' }, 14_000 + EXPIRE_RETRY_MS - 1)).toEqual([]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'late' }, 14_500)).toEqual([{ type: 'refuse', to: 'late', session: 1, reason: 'sessionExpired' }]);
    expect(leases.step({ type: 'tick' }, 14_000 + EXPIRE_RETRY_MS)).toEqual([{ type: 'proposeExpire', session: 1 }]);
    expect(leases.nextWakeAt()).toBeUndefined();
    leases.step({ type: 'expireFailed', session: 1 }, 16_000);
    leases.step({ type: 'lostMastership' }, 16_100);
    expect(leases.step({ type: 'tick' }, 16_000 + EXPIRE_RETRY_MS)).toEqual([]);
  });

  it('ignores a failed expiry of a session that ended meanwhile or was never expiring', () => {
    const leases = master();
    opened(leases, 1);
    leases.step({ type: 'expireFailed', session: 1 }, 100);
    expect(leases.nextWakeAt()).toBe(12_000);
    leases.step({ type: 'sessionEnded', session: 1 }, 200);
    leases.step({ type: 'expireFailed', session: 1 }, 300);
    expect(leases.nextWakeAt()).toBeUndefined();
  });

  it('a new master extends every session by lease and grace period, answers its first KeepAlive at once with failover, then grants normal leases', () => {
    const leases = master([1, 2], 100_000);
    expect(leases.deadlineOf(1)).toBe(100_000 + 12_000 + 45_000);
    expect(leases.step({ type: 'tick' }, 156_999)).toEqual([]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'back' }, 130_000)).toEqual([
      { type: 'answer', to: 'back', session: 1, leaseRemainingMs: 12_000, events: [], firstSeq: 1, eventsLost: false, failover: true },
    ]);
    expect(leases.deadlineOf(1)).toBe(142_000);
    // Until the client acknowledges an answer of this master, answers say failover.
    leases.step({ type: 'events', session: 1, events: ['a'] }, 130_001);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'retry', answerNow: true }, 130_100)).toMatchObject([{ type: 'answer', events: ['a'], failover: true }]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'next', answerNow: true, ack: 1 }, 130_200)).toMatchObject([{ type: 'answer', events: [], failover: false }]);
    expect(leases.step({ type: 'tick' }, 157_000)).toEqual([{ type: 'proposeExpire', session: 1 }, { type: 'proposeExpire', session: 2 }]);
  });

  it('a newer KeepAlive is answered at once in place of the held one; losing mastership refuses every held KeepAlive as not master', () => {
    const leases = master();
    opened(leases, 1);
    leases.step({ type: 'keepAlive', session: 1, from: 'old' }, 0);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'new' }, 10)).toMatchObject([{ type: 'answer', to: 'new' }]);
    leases.step({ type: 'keepAlive', session: 1, from: 'next' }, 11);
    expect(leases.step({ type: 'lostMastership' }, 20)).toEqual([{ type: 'refuse', to: 'next', session: 1, reason: 'notMaster' }]);
    expect(leases.step({ type: 'keepAlive', session: 1, from: 'x' }, 30)).toEqual([{ type: 'refuse', to: 'x', session: 1, reason: 'notMaster' }]);
    expect(leases.nextWakeAt()).toBeUndefined();
  });
});
