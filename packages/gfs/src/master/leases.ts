import type { ReplyHandle } from '@actorfs/actors';
import type { ChunkLease, ChunkserverMsg, MasterMsg } from '../protocol.ts';
import type { Lease, ServerId } from './chunk-locations.ts';
import { extendLease, primaryReplicas } from './heartbeat.ts';
import type { GrantOutcome } from './lease-grants.ts';
import { leaseRequest, lostRaiseTargets, raiseTargets } from './lease-requests.ts';
import type { Answer, MasterHost } from './master-host.ts';
import type { ChunkHandle } from './records.ts';

/** A client asks for the lease of a file's chunk (see leaseRequest for the rule). */
export function leaseAsked(m: MasterHost, path: string, index: number, answer: Answer): void {
  const handle = m.chunkAt(path, index);
  const waiter = answer.handle;
  if (!waiter) return;
  const version = m.versionOf(handle)!;
  const now = m.ctx.now();
  const step = leaseRequest(handle, {
    version,
    shared: m.metadata.chunk(handle)!.refs > 1,
    revoking: m.snapshots.isRevoking(handle),
    running: m.locations.lease(handle, now),
    reReplicating: m.clones.has(handle) || m.quiescing.has(handle),
    copyingFrom: m.grants.copyingFrom(handle),
    granting: m.grants.has(handle),
    raiseTargets: () => raiseTargets(m.locations.liveReplicas(handle, version), m.creating.on(handle), (id) => m.servers.has(id), () => lostRaise(m, handle, version)),
  });
  switch (step.kind) {
    case 'refused':
      throw new Error(step.reason);
    case 'copy':
      return copyOnWrite(m, path, index, handle, waiter);
    case 'running':
      tellPrimary(m, handle, version, step.lease);
      return m.ctx.replyTo(waiter, leaseAnswer(m, handle, version, step.lease));
    case 'wait':
      return m.grants.wait(handle, waiter);
    case 'raise':
      // the raised version is logged, and only once it is durable do the live replicas hear of it
      m.mutate({ type: 'set-version', handle, version: step.version, raisedOn: step.targets });
      return startGrant(m, handle, step.version, step.targets, [waiter], { type: 'raise-version', handle, version: step.version });
    default: {
      const never: never = step;
      throw new Error(`unknown lease step ${JSON.stringify(never)}`);
    }
  }
}

/** The servers to raise a chunk again on whose last raise, logged before a restart, reached none (see lostRaiseTargets). */
export function lostRaise(m: MasterHost, handle: ChunkHandle, version: number): ServerId[] {
  const targets = lostRaiseTargets(m.metadata.lastRaise(handle), version, (id) => m.servers.has(id), (id) => m.locations.olderVersion(id, handle));
  if (targets.length > 0) m.ctx.log.warn('a version raise reached no replica before the master restarted; raising again', { handle, version, servers: targets.join(',') });
  return targets;
}

/**
 * Sends `order` to the servers once the version it raises to is logged (see orderWhenLogged), and
 * waits for their version-raised: the lease goes out when they have all persisted the new version
 * (or, at the timeout, to those that did). Requests meanwhile wait on the grant.
 */
export function startGrant(m: MasterHost, handle: ChunkHandle, version: number, servers: ServerId[], waiters: ReplyHandle[], raise: ChunkserverMsg): void {
  const fenced = m.order(raise);
  m.grants.start(handle, version, servers, waiters, fenced);
  for (const id of servers) m.orderWhenLogged(m.servers.get(id)!.ref, fenced);
  armGrantTimer(m, handle);
}

export function armGrantTimer(m: MasterHost, handle: ChunkHandle): void {
  m.ctx.setTimer(`grant:${handle}`, m.config.leaseGrantTimeoutMs, { type: 'grant-timeout', handle });
}

export function grantTimedOut(m: MasterHost, handle: ChunkHandle): void {
  const step = m.grants.timedOut(handle, (id) => m.servers.has(id));
  if (!step) return;
  if (step.kind === 'finish') return finishGrant(m, handle);
  for (const w of step.failed) m.ctx.replyErrorTo(w, `chunk ${handle}: no replica answered the version raise yet; ask again`);
  // with none left, the grant waits for a replica at the version before the raise to report
  // again (see heartbeat): no lease went out at the new version, so that replica is current.
  // The timer runs on meanwhile, so a client that joins the grant is answered within its time.
  if (step.kind === 'stalled') {
    if (step.first) m.ctx.log.warn('no live replica took a raised version yet; waiting for one to report', { handle, version: m.grants.get(handle)!.version });
    return armGrantTimer(m, handle);
  }
  // The order goes again, and its servers stay awaited: the timer runs from when the orders were
  // queued, and they leave only once the raise is synced (in data-path-sim seed 7 they left after
  // the timeout). A grant that stopped awaiting them would ignore their answers, and its lease
  // would go out without servers holding the new version, which then miss its mutations (see
  // distrusts). (A copy order sent again is safe: it names the exact source version, refused if
  // that moved on.)
  const order = m.grants.get(handle)!.order;
  for (const id of step.resendTo) m.orderWhenLogged(m.servers.get(id)!.ref, order);
  armGrantTimer(m, handle);
}

/**
 * The first lease asked for a chunk shared since a snapshot: the file gets its own chunk, which
 * every live replica of the shared one copies locally (no data crosses the network), at a
 * raised version; the lease then goes out on the copy as for any grant.
 */
function copyOnWrite(m: MasterHost, path: string, index: number, shared: ChunkHandle, waiter: ReplyHandle): void {
  const version = m.versionOf(shared)!;
  const live = m.locations.liveReplicas(shared, version);
  if (live.length === 0) throw new Error(`chunk ${shared}: no live replica to copy for ${path}`);
  const handle = m.metadata.newHandle();
  m.mutate({ type: 'copy-on-write', path, index, handle });
  m.mutate({ type: 'set-version', handle, version: version + 1 });
  startGrant(m, handle, version + 1, live, [waiter], { type: 'copy-chunk', from: shared, fromVersion: version, to: handle, version: version + 1 });
}

/** A replica persisted a grant's raise (or made a snapshot's copy at it). */
export function versionRaised(m: MasterHost, msg: Extract<MasterMsg, { type: 'version-raised' }>): void {
  const step = m.grants.raised(msg.server, msg.handle, msg.version, m.servers.has(msg.server));
  m.knownServer(msg.server);
  if (step === 'ignored') return;
  m.locations.addReplica(msg.server, msg.handle, msg.version);
  if (step === 'done') finishGrant(m, msg.handle);
}

/** A replica refused a snapshot's copy order: its source is at another version. */
export function copyRefused(m: MasterHost, msg: Extract<MasterMsg, { type: 'copy-refused' }>): void {
  m.knownServer(msg.server);
  m.ctx.log.warn('a copy after a snapshot was refused: its source is at another version', { handle: msg.handle, server: msg.server, from: msg.from, fromVersion: msg.fromVersion, heldVersion: msg.heldVersion });
  if (m.grants.refused(msg.server, msg.handle) === 'done') finishGrant(m, msg.handle);
}

/** Replicas that did not persist the raised version are stale from now on (their next report has them deleted). */
function finishGrant(m: MasterHost, handle: ChunkHandle): void {
  const g = m.grants.get(handle);
  if (!g) return;
  m.ctx.cancelTimer(`grant:${handle}`);
  const outcome = m.grants.finish(handle, m.locations.liveReplicas(handle, g.version), m.metadata.chunk(handle)!.refs > 1, (id) => m.servers.has(id))!;
  answerGrant(m, handle, outcome);
}

function answerGrant(m: MasterHost, handle: ChunkHandle, outcome: GrantOutcome): void {
  switch (outcome.kind) {
    case 'shared':
      for (const w of outcome.waiters) m.ctx.replyErrorTo(w, `chunk ${handle} was shared by a snapshot during the lease grant; ask again`);
      return;
    case 'no-replica':
      for (const w of outcome.waiters) m.ctx.replyErrorTo(w, `chunk ${handle}: no live replica took version ${outcome.version}`);
      return;
    case 'raise-again':
      m.ctx.log.warn('a lease grant would go out without servers that may hold its version; raising it again without them', { handle, version: outcome.version, left: outcome.left.join(',') });
      m.mutate({ type: 'set-version', handle, version: outcome.version, raisedOn: outcome.targets });
      return startGrant(m, handle, outcome.version, outcome.targets, outcome.waiters, { type: 'raise-version', handle, version: outcome.version });
    case 'lease': {
      const lease = m.locations.grantLease(handle, outcome.primary, m.ctx.now(), m.config.leaseMs);
      tellPrimary(m, handle, outcome.version, lease);
      for (const w of outcome.waiters) m.ctx.replyTo(w, leaseAnswer(m, handle, outcome.version, lease));
      return;
    }
    default: {
      const never: never = outcome;
      throw new Error(`unknown grant outcome ${JSON.stringify(never)}`);
    }
  }
}

/** A primary asks for more time: answered with the new expiry; refused as a tell silently (its lease runs out and it asks for a new one). */
export function extendAsked(m: MasterHost, msg: Extract<MasterMsg, { type: 'extend-lease' }>): void {
  m.knownServer(msg.server);
  let expiresAtMs: number;
  try {
    const version = msg.version ?? m.versionOf(msg.handle) ?? -1;
    const lease = extendLease(m, msg.server, msg.handle, version, { nowMs: m.ctx.now(), leaseMs: m.config.leaseMs });
    tellPrimary(m, msg.handle, version, lease);
    expiresAtMs = lease.expiresAtMs;
  } catch (err) {
    if (m.ctx.replyHandle()) throw err;
    return;
  }
  m.ctx.reply({ expiresAtMs });
}

/** The master forgets the lease and tells its holder, which stops ordering mutations of the chunk. */
export function revokeLease(m: MasterHost, handle: ChunkHandle): void {
  const lease = m.locations.lease(handle, m.ctx.now());
  if (lease) {
    m.windows.revokedUnacked(handle, lease);
    m.tell(lease.holder, { type: 'revoke-lease', handle });
  }
  m.locations.revokeLease(handle);
}

/**
 * The primary learns of its lease from the master (told again with every answer naming it, so a
 * lost grant is not fatal), with the replicas it forwards mutations to (see primaryReplicas).
 */
export function tellPrimary(m: MasterHost, handle: ChunkHandle, version: number, lease: Lease, replicaIds = primaryReplicas(m, handle, version)): void {
  const replicas = replicaIds.flatMap((id) => m.servers.get(id)?.ref ?? []);
  m.tell(lease.holder, { type: 'lease-granted', handle, version, durationMs: lease.expiresAtMs - m.ctx.now(), replicas });
}

function leaseAnswer(m: MasterHost, handle: ChunkHandle, version: number, lease: Lease): ChunkLease {
  return { handle, version, replicas: m.locations.liveReplicas(handle, version), primary: lease.holder, expiresAtMs: lease.expiresAtMs };
}
