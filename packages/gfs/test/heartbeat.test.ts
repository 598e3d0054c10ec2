import { describe, expect, it } from '@jest/globals';
import type { ActorRef } from '@actorfs/actors';
import { ChunkLocations, type ReplicaReport } from '../src/master/chunk-locations.ts';
import { stepHeartbeat, type Heartbeat, type HeartbeatState } from '../src/master/heartbeat.ts';
import { LeaseGrants } from '../src/master/lease-grants.ts';
import { PendingCreations } from '../src/master/pending-creations.ts';
import { ClonesInProgress } from '../src/master/replication-plan.ts';
import type { ChunkserverMsg } from '../src/protocol.ts';

const timing = { nowMs: 1000, leaseMs: 500, heartbeatIntervalMs: 100 };

/** The master's cores with chunk `handle` at `version` for each entry of `versions`. */
function state(versions: Record<number, number>, frozen: Record<number, string> = {}): HeartbeatState {
  return {
    locations: new ChunkLocations(),
    creating: new PendingCreations(),
    clones: new ClonesInProgress(),
    grants: new LeaseGrants(4),
    versionOf: (h) => versions[h],
    frozen: (h) => frozen[h],
  };
}

function heartbeat(server: string, chunks: ReplicaReport[], extra: Partial<Heartbeat> = {}): Heartbeat {
  return { type: 'heartbeat', server, ref: {} as ActorRef<ChunkserverMsg>, rack: 'A', usedBytes: 0, capacityBytes: 1, chunks, ...extra };
}

describe("a heartbeat's step (the master's order of steps, no I/O)", () => {
  it('extends the leases its server still mutates under, telling the primary its live replicas; a frozen or foreign lease is not extended', () => {
    const s = state({ 1: 2, 2: 2, 3: 2 }, { 2: 'is being snapshotted' });
    for (const cs of ['cs1', 'cs2']) for (const h of [1, 2, 3]) s.locations.addReplica(cs, h, 2);
    s.locations.grantLease(1, 'cs1', 900, 500);
    s.locations.grantLease(2, 'cs1', 900, 500);
    s.locations.grantLease(3, 'cs2', 900, 500);
    const e = stepHeartbeat(heartbeat('cs1', [1, 2, 3].map((h) => ({ handle: h, version: 2 })), { leases: [1, 2, 3, 9] }), s, timing, false);
    expect(e.extended).toEqual([{ handle: 1, version: 2, lease: { holder: 'cs1', expiresAtMs: 1500 }, replicas: ['cs1', 'cs2'] }]);
    expect(s.locations.lease(2, 1000)?.expiresAtMs).toBe(1400);
    expect(e.deletions).toEqual([]);
  });

  it('answers with the orphans and stale replicas to delete, keeping a stale replica a raise still waits for, a clone target, and the last copies of a chunk', () => {
    const s = state({ 1: 3, 2: 3, 3: 3, 4: 3 });
    s.locations.addReplica('cs2', 1, 3);
    s.locations.addReplica('cs2', 2, 3);
    s.locations.addReplica('cs2', 3, 3);
    s.grants.start(2, 3, ['cs1'], [], { type: 'raise-version', handle: 2, version: 3 });
    s.clones.started(3, { source: 'cs2', target: 'cs1', startedMs: 900 });
    const e = stepHeartbeat(heartbeat('cs1', [1, 2, 3, 4].map((h) => ({ handle: h, version: 2 })).concat({ handle: 7, version: 1 })), s, timing, false);
    // 1 is stale; 2 is late to a raise; 3 is being cloned here; 4 has no copy at version 3 anywhere; 7 is no chunk of a file
    expect(e.deletions).toEqual([7, 1]);
    expect(s.locations.olderVersion('cs1', 1)).toBe(2);
  });

  it('adopts a replica ahead of the master (it failed while granting), and takes the server into a stalled grant it reports the version for', () => {
    const s = state({ 1: 2, 5: 4 });
    s.grants.start(5, 4, ['cs2'], [], { type: 'raise-version', handle: 5, version: 4 });
    expect(s.grants.timedOut(5, () => false)).toEqual({ kind: 'stalled', failed: [], first: true });
    const e = stepHeartbeat(heartbeat('cs1', [{ handle: 1, version: 3 }, { handle: 5, version: 3 }]), s, timing, false);
    expect(e.adopt).toEqual([{ handle: 1, version: 3 }]);
    expect(e.grantOrders).toEqual([5]);
    expect(s.locations.liveReplicas(1, 3)).toEqual(['cs1']);
  });

  it('ends the creations and clones the report shows done', () => {
    const s = state({ 1: 1, 2: 1 });
    s.creating.ordered(1, ['cs1', 'cs2'], 900);
    s.clones.started(2, { source: 'cs2', target: 'cs1', startedMs: 500 });
    stepHeartbeat(heartbeat('cs1', [{ handle: 1, version: 1 }], { cloning: [] }), s, timing, false);
    expect(s.creating.on(1)).toEqual(['cs2']);
    expect(s.clones.has(2)).toBe(false);
  });

  it('off duty (a backup or shadow master) only learns where chunks are: no lease extended, nothing deleted or adopted', () => {
    const s = state({ 1: 2 });
    s.locations.addReplica('cs1', 1, 2);
    s.locations.grantLease(1, 'cs1', 900, 500);
    const e = stepHeartbeat(heartbeat('cs1', [{ handle: 1, version: 3 }, { handle: 9, version: 1 }], { leases: [1] }), s, timing, true);
    expect(e).toEqual({ extended: [], grantOrders: [], adopt: [], deletions: [] });
    expect(s.locations.lease(1, 1000)?.expiresAtMs).toBe(1400);
    expect(s.locations.liveReplicas(1, 3)).toEqual(['cs1']);
  });
});
