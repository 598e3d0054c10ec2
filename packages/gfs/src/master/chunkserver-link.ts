import type { MasterMsg } from '../protocol.ts';
import { heartbeatProblem, stepHeartbeat, type Heartbeat } from './heartbeat.ts';
import { armGrantTimer, copyRefused, extendAsked, tellPrimary, versionRaised } from './leases.ts';
import type { MasterHost } from './master-host.ts';
import { stampProblem } from './report-order.ts';
import { leaseRevoked } from './snapshots.ts';

export type ChunkserverReport = Extract<MasterMsg, { type: 'extend-lease' | 'lease-revoked' | 'version-raised' | 'copy-refused' | 'clone-done' | 'heartbeat' | 'chunk-created' | 'bad-replica' }>;

/**
 * A message from a chunkserver. Its reports carry a stamp: one sent before a message already
 * applied from the same server (see ReportOrder) would undo what that one told, so an outdated
 * heartbeat counts for liveness only.
 */
export function chunkserverMsg(m: MasterHost, msg: ChunkserverReport): void {
  if (msg.type === 'extend-lease') return extendAsked(m, msg);
  const problem = stampProblem(msg.stamp);
  if (problem) throw new Error(`${msg.type} from ${String(msg.server)}: ${problem}`);
  if (msg.type === 'heartbeat' && m.reportOrder.isOutdated(msg.server, msg.stamp)) return outdatedHeartbeat(m, msg);
  applyReport(m, msg);
  // (not reached if the message was refused; only registered servers are tracked)
  if (m.servers.has(msg.server)) m.reportOrder.applied(msg.server, msg.stamp);
}

/** A heartbeat sent before a message already applied from its server: it counts for liveness, its chunk list is out of date. */
function outdatedHeartbeat(m: MasterHost, msg: Heartbeat): void {
  const problem = heartbeatProblem(msg);
  if (problem) throw new Error(`malformed heartbeat: ${problem}`);
  const known = m.servers.get(msg.server);
  if (known) known.lastSeenMs = m.ctx.now();
}

function applyReport(m: MasterHost, msg: Exclude<ChunkserverReport, { type: 'extend-lease' }>): void {
  switch (msg.type) {
    case 'lease-revoked':
      return leaseRevoked(m, msg.server, msg.handle);
    case 'version-raised':
      return versionRaised(m, msg);
    case 'copy-refused':
      return copyRefused(m, msg);
    case 'clone-done': {
      if (m.clones.get(msg.handle)?.target !== msg.server) return;
      m.clones.ended(msg.handle);
      m.knownServer(msg.server);
      if (msg.error !== undefined) m.ctx.log.warn('clone failed', { handle: msg.handle, target: msg.server, error: msg.error });
      else if (m.versionOf(msg.handle) === msg.version) m.locations.addReplica(msg.server, msg.handle, msg.version);
      return;
    }
    case 'heartbeat':
      return heartbeat(m, msg);
    case 'chunk-created':
      m.knownServer(msg.server);
      m.creating.reported(msg.server, msg.handle);
      if (m.versionOf(msg.handle) === msg.version) m.locations.addReplica(msg.server, msg.handle, msg.version);
      return;
    case 'bad-replica': {
      const s = m.knownServer(msg.server);
      m.ctx.log.warn('bad replica', { server: msg.server, handle: msg.handle, reason: msg.reason });
      m.locations.removeReplica(msg.server, msg.handle);
      m.ctx.send(s.ref, m.order({ type: 'delete-chunks', handles: [msg.handle] }));
      return;
    }
    default: {
      const never: never = msg;
      m.ctx.unhandled(never);
    }
  }
}

/** Registers the server, and carries out what the heartbeat's step decides (see stepHeartbeat). */
function heartbeat(m: MasterHost, msg: Heartbeat): void {
  const problem = heartbeatProblem(msg);
  if (problem) throw new Error(`malformed heartbeat: ${problem}`);
  const now = m.ctx.now();
  m.servers.set(msg.server, { id: msg.server, rack: msg.rack, usedBytes: msg.usedBytes, capacityBytes: msg.capacityBytes, ref: msg.ref, lastSeenMs: now });
  const timing = { nowMs: now, leaseMs: m.config.leaseMs, heartbeatIntervalMs: m.config.heartbeatIntervalMs };
  const effects = stepHeartbeat(msg, m, timing, m.ha !== undefined && !m.ha.serving);
  for (const e of effects.extended) tellPrimary(m, e.handle, e.version, e.lease, e.replicas);
  for (const handle of effects.grantOrders) {
    m.orderWhenLogged(msg.ref, m.grants.get(handle)!.order);
    armGrantTimer(m, handle);
  }
  // (replicas still recorded at the old version are not handed out from now on; each one's own
  // next report shows whether it is stale, so none is deleted on an outdated view)
  for (const { handle, version } of effects.adopt) if (version > m.versionOf(handle)!) m.mutate({ type: 'set-version', handle, version });
  if (effects.deletions.length > 0) m.ctx.send(msg.ref, m.order({ type: 'delete-chunks', handles: effects.deletions }));
}
