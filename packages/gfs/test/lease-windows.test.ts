import { describe, expect, it } from '@jest/globals';
import { LeaseWindows } from '../src/master/lease-windows.ts';

const timing = { leaseMs: 1000, serverTimeoutMs: 300 };

describe('leases the master cannot see', () => {
  it('after a (re)start, a chunk made before it may hold a forgotten lease for leaseMs: no clone copies it and a snapshot waits for that end; a chunk made since does not', () => {
    const w = new LeaseWindows();
    w.startTerm(5000, 10, timing);
    expect(w.mayHaveForgotten(9, 5999)).toBe(true);
    expect(w.mayHaveForgotten(9, 6000)).toBe(false);
    expect(w.mayHaveForgotten(10, 5000)).toBe(false);
    expect(w.quiet(9, 5500, undefined)).toBe(false);
    expect(w.quiet(10, 5500, undefined)).toBe(true);
    expect(w.unseenUntil(9, 5500)).toBe(6000);
    expect(w.unseenUntil(10, 5500)).toBe(5500);
    expect(w.quiet(9, 6000, undefined)).toBe(true);
  });

  it('a lease revoked without an acknowledgement keeps its chunk from clones and snapshots until it would expire, and is dropped once expired', () => {
    const w = new LeaseWindows();
    w.startTerm(0, 1, timing);
    w.revokedUnacked(4, { holder: 'cs1', expiresAtMs: 2500 });
    w.revokedUnacked(4, { holder: 'cs2', expiresAtMs: 2000 }); // the later end is kept
    expect(w.quiet(4, 2400, undefined)).toBe(false);
    expect(w.unseenUntil(4, 1500)).toBe(2500);
    w.expire(2499);
    expect(w.unseenUntil(4, 1500)).toBe(2500);
    w.expire(2500);
    expect(w.unseenUntil(4, 1500)).toBe(1500);
    expect(w.quiet(4, 1500, undefined)).toBe(true);
  });

  it('a running lease the master knows of is never quiet; every server has reported once a server timeout has passed since the start', () => {
    const w = new LeaseWindows();
    w.startTerm(0, 1, timing);
    expect(w.quiet(5, 100, { holder: 'cs1', expiresAtMs: 200 })).toBe(false);
    expect(w.reportedAll(299)).toBe(false);
    expect(w.reportedAll(300)).toBe(true);
  });
});
