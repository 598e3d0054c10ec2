import { lostRaise, startGrant } from './leases.ts';
import type { MasterHost } from './master-host.ts';
import { orderCreation } from './new-chunks.ts';
import { placeNewChunk } from './placement.ts';
import { planReplication, type ReplicationPlan } from './replication-plan.ts';

/** Clones chunks below their replica target, the most endangered first, within the clone limits; else rebalances (see planReplication). */
export function reReplicate(m: MasterHost, now: number): void {
  m.clones.expire(now, m.config.cloneTimeoutMs, (id) => m.servers.has(id));
  const plan = planReplication({
    nowMs: now,
    chunks: m.metadata.chunks(),
    servers: [...m.servers.values()],
    versionOf: (h) => m.versionOf(h),
    liveReplicas: (h, v) => m.locations.liveReplicas(h, v),
    chunksOn: (id) => m.locations.chunksOn(id),
    cloning: (h) => m.clones.has(h),
    granting: (h) => m.grants.has(h),
    copyInFlight: (h) => m.grants.copiesFrom(h).some((c) => !c.stalled),
    lostRaise: (h, v) => lostRaise(m, h, v),
    creatingOn: (h) => m.creating.on(h),
    reportedAll: m.windows.reportedAll(now),
    liveFileChunks: () => m.metadata.liveFileChunks(),
    quiet: (h) => m.windows.quiet(h, now, m.locations.lease(h, now)),
    leaseHolder: (h) => m.locations.lease(h, now)?.holder,
    inFlight: m.clones.inFlight(),
    limits: m.config,
  });
  carryOut(m, plan, now);
}

function carryOut(m: MasterHost, plan: ReplicationPlan, now: number): void {
  for (const { handle, version, servers } of plan.raiseAgain) {
    m.mutate({ type: 'set-version', handle, version, raisedOn: servers });
    startGrant(m, handle, version, servers, [], { type: 'raise-version', handle, version });
    // no server holds the shared chunk at the version a stalled copy names any more: it is made
    // from the raised chunk once a server reports it (see LeaseGrants.takeIn)
    for (const { copy } of m.grants.copiesFrom(handle)) {
      m.mutate({ type: 'set-version', handle: copy, version: version + 1 });
      m.grants.reaim(copy, version + 1, m.order({ type: 'copy-chunk', from: handle, fromVersion: version, to: copy, version: version + 1 }));
    }
  }
  for (const handle of plan.createAgain) orderCreation(m, handle, placeNewChunk([...m.servers.values()], m.config.replicas, m.recent, now), now);
  for (const { handle, server } of plan.dropExtra) {
    m.locations.removeReplica(server, handle);
    m.ctx.send(m.servers.get(server)!.ref, m.order({ type: 'delete-chunks', handles: [handle] }));
  }
  m.quiescing = plan.quiescing;
  for (const t of plan.clones) {
    m.clones.started(t.handle, { source: t.source, target: t.target, startedMs: now });
    m.ctx.send(m.servers.get(t.target)!.ref, m.order({ type: 'clone', handle: t.handle, version: m.versionOf(t.handle)!, source: m.servers.get(t.source)!.ref }));
  }
}
