import { describe, expect, it } from '@jest/globals';
import { ClientLease } from '../src/index.ts';
import { keepAliveWaitMs } from '../src/client-lease.ts';

const timing = { driftMs: 100, gracePeriodMs: 45_000 };
const answered = (sentAt: number, leaseRemainingMs = 12_000, more: object = {}) => ({ type: 'answered' as const, sentAt, leaseRemainingMs, events: [] as string[], eventsLost: false, failover: false, ...more });

describe("the client's session lease", () => {
  it('counts the lease from when the KeepAlive was sent, less the drift margin, and sends the next at once', () => {
    const lease = new ClientLease<string>(0, 12_000, timing);
    expect(lease.leaseEndsAt).toBe(11_900);
    expect(lease.step(answered(5_000), 9_000)).toEqual([{ type: 'sendKeepAlive' }]);
    expect(lease.leaseEndsAt).toBe(16_900);
    lease.step(answered(1_000), 9_500); // a late answer to an older KeepAlive does not shorten it
    expect(lease.leaseEndsAt).toBe(16_900);
  });

  it('goes into jeopardy when the local lease ends (flushing the cache), and back to safe if a master answers within the grace period', () => {
    const lease = new ClientLease<string>(0, 12_000, timing);
    expect(lease.step({ type: 'tick' }, 11_899)).toEqual([]);
    expect(lease.step({ type: 'tick' }, 11_900)).toEqual([{ type: 'flushCache' }, { type: 'jeopardy' }]);
    expect(lease.state).toBe('jeopardy');
    expect(lease.nextWakeAt()).toBe(56_900);
    expect(lease.step({ type: 'failed' }, 20_000)).toEqual([{ type: 'sendKeepAlive' }]);
    expect(lease.step(answered(40_000, 12_000, { failover: true }), 40_050)).toEqual([{ type: 'safe', failover: true }, { type: 'sendKeepAlive' }]);
    expect(lease.state).toBe('live');
  });

  it('expires when the grace period passes without a master, and then does nothing more', () => {
    const lease = new ClientLease<string>(0, 12_000, timing);
    lease.step({ type: 'tick' }, 12_000);
    expect(lease.step({ type: 'tick' }, 56_899)).toEqual([]);
    expect(lease.step({ type: 'tick' }, 56_900)).toEqual([{ type: 'expired' }]);
    expect(lease.step(answered(56_950), 57_000)).toEqual([]);
    expect(lease.state).toBe('expired');
  });

  it('an answer whose lease has already run out leaves the session in jeopardy', () => {
    const lease = new ClientLease<string>(0, 12_000, timing);
    lease.step({ type: 'tick' }, 12_000);
    expect(lease.step(answered(1_000, 12_000), 30_000)).toEqual([{ type: 'sendKeepAlive' }]);
    expect(lease.state).toBe('jeopardy');
  });

  it('delivers events, flushes the cache when events were lost, and ends when the master says the session is over', () => {
    const lease = new ClientLease<string>(0, 12_000, timing);
    expect(lease.step(answered(100, 12_000, { events: ['e1'], eventsLost: true }), 200)).toEqual([{ type: 'flushCache' }, { type: 'deliver', events: ['e1'] }, { type: 'sendKeepAlive' }]);
    expect(lease.step({ type: 'ended' }, 300)).toEqual([{ type: 'flushCache' }, { type: 'expired' }]);
    expect(lease.nextWakeAt()).toBeUndefined();
  });

  it('waits for a held KeepAlive only until its answer is overdue, then tries again twice before the master\'s lease ends', () => {
    // The simulator's cell: the master answers 200 ms before its lease ends, 50 ms after ours.
    const t = { answerBeforeEndMs: 200, driftMs: 50, requestTimeoutMs: 500 };
    // Held until 850 (our end 1000, plus drift, less 200): overdue at 925, half-way to our end.
    expect(keepAliveWaitMs(100, 1_000, false, t)).toBe(825);
    // Sent again at 925, answered at once: half of the 125 ms the master's lease has left.
    expect(keepAliveWaitMs(925, 1_000, false, t)).toBe(62.5);
    expect(keepAliveWaitMs(995, 1_000, false, { ...t, driftMs: 0 })).toBe(20);
    // A retry the master answers at once, however early: half of what the master's lease has left, at most half a request timeout.
    expect(keepAliveWaitMs(900, 1_000, true, t)).toBe(75);
    expect(keepAliveWaitMs(100, 1_000, true, t)).toBe(250);
    // In jeopardy (or with no lease), half a request timeout.
    expect(keepAliveWaitMs(1_000, 1_000, false, t)).toBe(250);
    expect(keepAliveWaitMs(1_200, undefined, true, t)).toBe(250);
  });
});
