import { describe, expect, it } from '@jest/globals';
import type { ReplyHandle } from '@actorfs/actors';
import { LeaseGrants } from '../src/master/lease-grants.ts';
import { leaseRequest, lostRaiseTargets, raiseTargets, type LeaseRequestView } from '../src/master/lease-requests.ts';

const waiter = (n: number): ReplyHandle => ({ n }) as unknown as ReplyHandle;
const raise = (handle: number, version: number) => ({ type: 'raise-version' as const, handle, version });
const alive = (...ids: string[]) => (id: string): boolean => ids.includes(id);

describe('who a lease grant raises the version on', () => {
  it('the live replicas and the live servers still creating the chunk; a raise lost in a restart only when there are neither', () => {
    const noLost = (): string[] => ['lost'];
    expect(raiseTargets(['cs1'], ['cs2', 'cs3', 'cs1'], alive('cs1', 'cs2'), noLost)).toEqual(['cs1', 'cs2']);
    expect(raiseTargets([], ['cs3'], alive('cs1'), noLost)).toEqual(['lost']);
    expect(raiseTargets([], [], alive(), () => [])).toEqual([]);
  });

  it('a raise lost in a restart is raised again only on its own servers that report an older version, only while all of them are alive, and only for the version it logged', () => {
    const last = { version: 5, servers: ['cs1', 'cs2'] };
    const at4 = (): number => 4;
    expect(lostRaiseTargets(last, 5, alive('cs1', 'cs2', 'cs3'), at4)).toEqual(['cs1', 'cs2']);
    expect(lostRaiseTargets(last, 5, alive('cs1'), at4)).toEqual([]); // cs2 may hold version 5 and writes under it
    expect(lostRaiseTargets(last, 6, alive('cs1', 'cs2'), at4)).toEqual([]);
    expect(lostRaiseTargets(undefined, 5, alive('cs1'), at4)).toEqual([]);
    // cs2 holds no copy (a bad one it deleted, say): the raise goes again to cs1 only, and with no copy left, nowhere
    expect(lostRaiseTargets(last, 5, alive('cs1', 'cs2'), (id) => (id === 'cs1' ? 4 : undefined))).toEqual(['cs1']);
    expect(lostRaiseTargets(last, 5, alive('cs1', 'cs2'), () => undefined)).toEqual([]);
  });
});

describe('a lease request', () => {
  const quiet: LeaseRequestView = { version: 4, shared: false, revoking: false, running: undefined, reReplicating: false, copyingFrom: false, granting: false, raiseTargets: () => ['cs1', 'cs2'] };

  it('is answered with the running lease, else raises the version by one on the raise targets, else waits for the grant under way', () => {
    const lease = { holder: 'cs2', expiresAtMs: 900 };
    expect(leaseRequest(7, { ...quiet, running: lease })).toEqual({ kind: 'running', lease });
    expect(leaseRequest(7, quiet)).toEqual({ kind: 'raise', version: 5, targets: ['cs1', 'cs2'] });
    expect(leaseRequest(7, { ...quiet, granting: true })).toEqual({ kind: 'wait' });
  });

  it('is refused while a snapshot revokes the chunk\'s leases (even a running one), and a shared chunk is copied first', () => {
    const running = { holder: 'cs2', expiresAtMs: 900 };
    expect(leaseRequest(7, { ...quiet, revoking: true, shared: true, running })).toEqual({ kind: 'refused', reason: 'chunk 7 is being snapshotted; ask again' });
    expect(leaseRequest(7, { ...quiet, shared: true, running })).toEqual({ kind: 'copy' });
  });

  it('raises no version while a clone or a snapshot\'s copy reads the chunk, nor with no replica to raise on; the raise targets are asked only when a raise is due', () => {
    let asked = 0;
    const counting = { ...quiet, raiseTargets: (): string[] => (asked++, []) };
    expect(leaseRequest(7, { ...counting, reReplicating: true })).toEqual({ kind: 'refused', reason: 'chunk 7 is being re-replicated; ask again' });
    expect(leaseRequest(7, { ...counting, copyingFrom: true })).toEqual({ kind: 'refused', reason: "chunk 7 is being copied for a snapshot's file; ask again" });
    expect(leaseRequest(7, { ...counting, granting: true })).toEqual({ kind: 'wait' });
    expect(asked).toBe(0); // (asking logs a lost raise's warning)
    expect(leaseRequest(7, counting)).toEqual({ kind: 'refused', reason: 'chunk 7: no live replica to grant a lease to' });
    expect(asked).toBe(1);
  });
});

describe('a lease grant waits for its raise to be persisted', () => {
  it('goes to a replica that raised and is live at the new version, once none is awaited; the others are late, not stale', () => {
    const g = new LeaseGrants(4);
    g.start(7, 3, ['cs1', 'cs2', 'cs3'], [waiter(1)], raise(7, 3));
    g.wait(7, waiter(2));
    expect(g.raised('cs2', 7, 2, true)).toBe('ignored'); // an older raise's answer
    expect(g.raised('cs2', 7, 3, true)).toBe('wait');
    expect(g.raised('cs2', 7, 3, true)).toBe('ignored'); // a duplicate
    expect(g.raised('cs3', 7, 3, true)).toBe('wait');
    expect(g.timedOut(7, alive('cs1', 'cs2', 'cs3'))).toEqual({ kind: 'finish' });
    // the primary is one that raised and is live at version 3; cs1, still awaited, is late (see raise-again below for the dead)
    expect(g.finish(7, ['cs2', 'cs3'], false, alive('cs1', 'cs2', 'cs3'))).toEqual({ kind: 'lease', primary: 'cs2', version: 3, waiters: [waiter(1), waiter(2)] });
    expect(g.has(7)).toBe(false);
    expect(g.unanswered(7, 3)).toEqual(['cs1']);
    expect(g.unanswered(7, 4)).toEqual([]);
    // cs1 reporting the version the raise went from is late (kept); at any other version it is not
    expect(g.awaits('cs1', 7, 2, 3)).toBe(true);
    expect(g.awaits('cs1', 7, 1, 3)).toBe(false);
    expect(g.awaits('cs2', 7, 2, 3)).toBe(false);
    g.forget(7);
    expect(g.awaits('cs1', 7, 2, 3)).toBe(false);
  });

  it('a snapshot during the grant, or no raised replica left alive, gives no lease', () => {
    const g = new LeaseGrants(4);
    g.start(1, 2, ['cs1'], [waiter(1)], raise(1, 2));
    expect(g.raised('cs1', 1, 2, true)).toBe('done');
    expect(g.finish(1, ['cs1'], true, alive('cs1'))).toEqual({ kind: 'shared', waiters: [waiter(1)] });
    g.start(2, 2, ['cs1'], [waiter(2)], raise(2, 2));
    g.raised('cs1', 2, 2, true);
    expect(g.finish(2, [], false, alive('cs1'))).toEqual({ kind: 'no-replica', version: 2, waiters: [waiter(2)] });
  });

  it('an answer from a server taken for dead is awaited no more but does not count as raised', () => {
    const g = new LeaseGrants(4);
    g.start(1, 2, ['cs1', 'cs2'], [waiter(1)], raise(1, 2));
    expect(g.raised('cs1', 1, 2, false)).toBe('ignored');
    expect(g.get(1)!.awaiting).toEqual(new Set(['cs2']));
    expect(g.get(1)!.raised).toEqual([]);
  });

  it('with no replica raised at the timeout the waiters fail and the raise goes again to the live ones; with none alive it waits for a report of the version it raised from', () => {
    const g = new LeaseGrants(4);
    g.start(1, 5, ['cs1', 'cs2'], [waiter(1)], raise(1, 5));
    expect(g.timedOut(1, alive('cs2'))).toEqual({ kind: 'again', failed: [waiter(1)], resendTo: ['cs2'] });
    expect(g.timedOut(1, alive())).toEqual({ kind: 'stalled', failed: [], first: true });
    // a report at version 4 takes the server in; one at another version, or a second time, does not
    expect(g.takeIn('cs3', [{ handle: 1, version: 3 }])).toEqual([]);
    expect(g.takeIn('cs3', [{ handle: 1, version: 4 }, { handle: 9, version: 4 }])).toEqual([1]);
    expect(g.takeIn('cs3', [{ handle: 1, version: 4 }])).toEqual([]);
    expect(g.awaits('cs3', 1, 4, 5)).toBe(true);
    expect(g.raised('cs3', 1, 5, true)).toBe('done');
  });

  it('a stalled copy after a snapshot takes in a server reporting the shared chunk it copies, at exactly the snapshot\'s version', () => {
    const g = new LeaseGrants(4);
    g.start(8, 3, ['cs1'], [waiter(1)], { type: 'copy-chunk', from: 5, fromVersion: 2, to: 8, version: 3 });
    expect(g.timedOut(8, alive())).toEqual({ kind: 'stalled', failed: [waiter(1)], first: true });
    // the copy (chunk 8) is held by none: the shared chunk 5 at version 2 is what counts, not one raised since
    expect(g.takeIn('cs1', [{ handle: 8, version: 2 }, { handle: 5, version: 1 }])).toEqual([]);
    expect(g.takeIn('cs1', [{ handle: 5, version: 3 }])).toEqual([]);
    expect(g.takeIn('cs1', [{ handle: 5, version: 2 }])).toEqual([8]);
    expect(g.takeIn('cs1', [{ handle: 5, version: 2 }])).toEqual([]);
    expect(g.raised('cs1', 8, 3, true)).toBe('done');
  });

  it('a server refusing a copy is awaited no more (nor sent the order again); the shared chunk counts as being copied while the copy\'s grant runs', () => {
    const g = new LeaseGrants(4);
    g.start(8, 3, ['cs1', 'cs2', 'cs3'], [waiter(1)], { type: 'copy-chunk', from: 5, fromVersion: 2, to: 8, version: 3 });
    expect(g.copyingFrom(5)).toBe(true);
    expect(g.copyingFrom(8)).toBe(false);
    expect(g.refused('cs1', 8)).toBe('wait');
    expect(g.refused('cs1', 8)).toBe('ignored');
    expect(g.timedOut(8, alive('cs1', 'cs2', 'cs3'))).toEqual({ kind: 'again', failed: [waiter(1)], resendTo: ['cs2', 'cs3'] });
    expect(g.raised('cs2', 8, 3, true)).toBe('wait');
    expect(g.refused('cs3', 8)).toBe('done');
    expect(g.finish(8, ['cs2'], false, alive('cs1', 'cs2', 'cs3'))).toMatchObject({ kind: 'lease', primary: 'cs2' });
    expect(g.copyingFrom(5)).toBe(false);
    expect(g.refused('cs3', 8)).toBe('ignored');
  });

  it("a copy is in flight while a server holds its order; once every server refused it, it is stalled and can be aimed at the shared chunk's new version, taking in servers that report that one", () => {
    const g = new LeaseGrants(4);
    const copyOrder = (fromVersion: number, version: number) => ({ type: 'copy-chunk' as const, from: 5, fromVersion, to: 8, version });
    g.start(8, 3, ['cs1'], [waiter(1)], copyOrder(2, 3));
    expect(g.copiesFrom(5)).toEqual([{ copy: 8, stalled: false }]);
    expect(() => g.reaim(8, 4, copyOrder(3, 4))).toThrow(/no stalled copy/);
    expect(g.refused('cs1', 8)).toBe('wait');
    expect(g.copiesFrom(5)).toEqual([{ copy: 8, stalled: true }]);
    expect(g.copiesFrom(8)).toEqual([]);
    g.reaim(8, 4, copyOrder(3, 4));
    expect(g.get(8)).toMatchObject({ version: 4, order: copyOrder(3, 4) });
    // the shared chunk at the version the copy first named no longer counts; at the new one it does
    expect(g.takeIn('cs2', [{ handle: 5, version: 2 }])).toEqual([]);
    expect(g.takeIn('cs2', [{ handle: 5, version: 3 }])).toEqual([8]);
    expect(g.copiesFrom(5)).toEqual([{ copy: 8, stalled: false }]);
    expect(g.raised('cs2', 8, 3, true)).toBe('ignored');
    expect(g.raised('cs2', 8, 4, true)).toBe('done');
  });

  it('a lease goes out only if the primary forwards to every server the order went to: one taken for dead before or after it answered has the version raised again on the live replicas, with the waiters carried over', () => {
    const g = new LeaseGrants(4);
    // cs3 answers only once taken for dead; cs2 is dead at the timeout; cs4 is late but alive
    g.start(1, 2, ['cs1', 'cs2', 'cs3', 'cs4'], [waiter(1)], raise(1, 2));
    expect(g.raised('cs1', 1, 2, true)).toBe('wait');
    expect(g.raised('cs3', 1, 2, false)).toBe('ignored');
    expect(g.timedOut(1, alive('cs1', 'cs4'))).toEqual({ kind: 'finish' });
    expect(g.finish(1, ['cs1'], false, alive('cs1', 'cs4'))).toEqual({ kind: 'raise-again', version: 3, targets: ['cs1'], left: ['cs2', 'cs3'], waiters: [waiter(1)] });
    expect(g.unanswered(1, 2)).toEqual([]);
    // a server that raised but died before the finish is left behind too
    g.start(2, 2, ['cs1', 'cs2'], [], raise(2, 2));
    g.raised('cs1', 2, 2, true);
    g.raised('cs2', 2, 2, true);
    expect(g.finish(2, ['cs1'], false, alive('cs1'))).toMatchObject({ kind: 'raise-again', version: 3, targets: ['cs1'], left: ['cs2'] });
    // one that refused a copy order holds no copy: it is not left behind
    g.start(8, 3, ['cs1', 'cs2'], [], { type: 'copy-chunk', from: 5, fromVersion: 2, to: 8, version: 3 });
    g.raised('cs1', 8, 3, true);
    expect(g.refused('cs2', 8)).toBe('done');
    expect(g.finish(8, ['cs1'], false, alive('cs1'))).toMatchObject({ kind: 'lease', primary: 'cs1' });
    // with only a late server alive beside the primary, the lease goes out and the primary forwards to it
    g.start(3, 2, ['cs1', 'cs4'], [], raise(3, 2));
    g.raised('cs1', 3, 2, true);
    expect(g.finish(3, ['cs1'], false, alive('cs1', 'cs4'))).toMatchObject({ kind: 'lease', primary: 'cs1' });
    expect(g.unanswered(3, 2)).toEqual(['cs4']);
    // the late cs4 dies: the lease is to be revoked (the next one raises the version without it)
    expect(g.serverDied('cs4')).toEqual([3]);
    expect(g.unanswered(3, 2)).toEqual([]);
    expect(g.serverDied('cs4')).toEqual([]);
  });

  it('a stalled grant says so at its first timeout only, and fails the clients that joined it at each', () => {
    const g = new LeaseGrants(4);
    g.start(1, 2, ['cs1'], [waiter(1)], raise(1, 2));
    expect(g.timedOut(1, alive())).toEqual({ kind: 'stalled', failed: [waiter(1)], first: true });
    g.wait(1, waiter(2));
    expect(g.timedOut(1, alive())).toEqual({ kind: 'stalled', failed: [waiter(2)], first: false });
  });

  it('waiters are bounded, and leaving office ends every grant and hands back their waiters', () => {
    const g = new LeaseGrants(2);
    g.start(1, 2, ['cs1'], [waiter(1)], raise(1, 2));
    g.wait(1, waiter(2));
    expect(() => g.wait(1, waiter(3))).toThrow(/2 clients already wait/);
    g.start(2, 2, ['cs1'], [], raise(2, 2));
    expect(g.clear()).toEqual([waiter(1), waiter(2)]);
    expect(g.has(1) || g.has(2)).toBe(false);
  });
});
