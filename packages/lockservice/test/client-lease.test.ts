import { describe, expect, it } from '@jest/globals';
import { ClientLease } from '../src/index.ts';

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
});
