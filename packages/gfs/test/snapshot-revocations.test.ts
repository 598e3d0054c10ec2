import { describe, expect, it } from '@jest/globals';
import type { Lease } from '../src/master/chunk-locations.ts';
import { SnapshotRevocations } from '../src/master/snapshot-revocations.ts';

const leases = (m: Record<number, Lease>) => (h: number): Lease | undefined => m[h];
const none = (): undefined => undefined;

describe('a snapshot revokes the leases of its chunks first', () => {
  it('tells each running lease holder, and waits for each acknowledgement or the last expiry; its chunks are being revoked meanwhile', () => {
    const r = new SnapshotRevocations<string>();
    const begun = r.begin(1, [1, 2, 2, 3], 100, leases({ 1: { holder: 'cs1', expiresAtMs: 500 }, 2: { holder: 'cs2', expiresAtMs: 700 } }), none, (waits) => (waits ? 'waits' : 'at once'));
    expect(begun).toEqual({ untilMs: 700, revoke: [{ handle: 1, holder: 'cs1' }, { handle: 2, holder: 'cs2' }] });
    expect([1, 2, 3, 4].map((h) => r.isRevoking(h))).toEqual([true, true, true, false]);
    expect(r.revoked('cs2', 1, () => false)).toEqual([]); // not that chunk's holder
    expect(r.revoked('cs1', 1, () => false)).toEqual([]);
    expect(r.revoked('cs2', 2, () => false)).toEqual([1]);
    expect(r.end(1)).toEqual({ payload: 'waits', handles: [1, 2, 3] });
    expect(r.isRevoking(1)).toBe(false);
    expect(r.end(1)).toBeUndefined();
  });

  it('a chunk with no running lease needs no wait, unless the master may have forgotten one in a restart: then until it would have ended, acknowledgements or not', () => {
    const r = new SnapshotRevocations<string>();
    expect(r.begin(1, [1], 100, none, none, (waits) => String(waits)).untilMs).toBe(100);
    expect(r.end(1)!.payload).toBe('false');
    const forgotten = r.begin(2, [1, 2], 100, leases({ 2: { holder: 'cs1', expiresAtMs: 300 } }), (h) => (h === 1 ? 900 : undefined), String);
    expect(forgotten.untilMs).toBe(900);
    expect(r.revoked('cs1', 2, (h) => h === 1)).toEqual([]);
  });

  it('two snapshots of one chunk keep it revoked until both end; leaving office ends every one', () => {
    const r = new SnapshotRevocations<string>();
    r.begin(1, [5], 0, none, none, () => 'a');
    r.begin(2, [5], 0, none, none, () => 'b');
    r.end(1);
    expect(r.isRevoking(5)).toBe(true);
    expect(r.ops()).toEqual([2]);
    expect(r.clear()).toEqual(['b']);
    expect(r.isRevoking(5)).toBe(false);
  });
});
