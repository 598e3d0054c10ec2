import type { Lease, ServerId } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/** What a client's request for a chunk's lease comes to. */
export type LeaseRequestStep =
  /** The chunk is shared since a snapshot: the file gets a copy of its own first (copy on write). */
  | { kind: 'copy' }
  | { kind: 'running'; lease: Lease }
  /** A grant is running: the request waits for it. */
  | { kind: 'wait' }
  | { kind: 'raise'; version: number; targets: ServerId[] }
  /** Refused with the reason; the client asks again. */
  | { kind: 'refused'; reason: string };

/** What a lease request reads of the master's state; queries only. */
export interface LeaseRequestView {
  version: number;
  shared: boolean;
  /** A snapshot waits for the chunk's leases to end. */
  revoking: boolean;
  running: Lease | undefined;
  /** A clone of the chunk is in flight, or planned while its lease runs. */
  reReplicating: boolean;
  /** A copy of the chunk for a snapshot's file is under way (see LeaseGrants.copyingFrom). */
  copyingFrom: boolean;
  granting: boolean;
  /** Who a new grant raises the version on (see raiseTargets). */
  raiseTargets(): ServerId[];
}

/**
 * The rule for a lease request: none while a snapshot revokes the chunk's leases; a shared chunk
 * is copied first; a running lease is the answer; else a grant raises the version, unless a clone
 * or a snapshot's copy reads the chunk (raised now, the copy would miss or take later writes).
 */
export function leaseRequest(handle: ChunkHandle, view: LeaseRequestView): LeaseRequestStep {
  if (view.revoking) return { kind: 'refused', reason: `chunk ${handle} is being snapshotted; ask again` };
  if (view.shared) return { kind: 'copy' };
  if (view.running) return { kind: 'running', lease: view.running };
  if (view.reReplicating) return { kind: 'refused', reason: `chunk ${handle} is being re-replicated; ask again` };
  if (view.copyingFrom) return { kind: 'refused', reason: `chunk ${handle} is being copied for a snapshot's file; ask again` };
  if (view.granting) return { kind: 'wait' };
  const targets = view.raiseTargets();
  if (targets.length === 0) return { kind: 'refused', reason: `chunk ${handle}: no live replica to grant a lease to` };
  return { kind: 'raise', version: view.version + 1, targets };
}

/**
 * Who a lease grant raises the version on: the live replicas, and the servers still creating the
 * chunk (granted among the acknowledged ones only, the others would be stale at once and the
 * first writes would reach fewer replicas than placed, or none); with neither, the servers of a
 * raise lost in a master restart (`lostRaise`). Empty: no replica to grant a lease to.
 */
export function raiseTargets(live: readonly ServerId[], creating: readonly ServerId[], isAlive: (id: ServerId) => boolean, lostRaise: () => ServerId[]): ServerId[] {
  const targets = [...live];
  for (const id of creating) if (isAlive(id) && !targets.includes(id)) targets.push(id);
  return targets.length > 0 ? targets : lostRaise();
}

/**
 * A raise logged before a restart that reached none of its servers: every one of them is alive
 * and none holds the new version, so no lease ran on it. The chunk is raised again on those that
 * report it at an older version (`reportedOlder`; a live server's reports are whole, so one that
 * reports no copy, such as a bad one it deleted, holds none). With one of them silent it may hold
 * the new version and writes made under it: none is raised, the chunk waits for it.
 *
 * One of them may have held the new version and lost its copy since: that does not make the
 * others stale. A lease at that version went out only with its primary forwarding to every server
 * of the raise (else the version was raised again, and a newer raise is the last one; see
 * LeaseGrants), and that list never shrank while the lease ran (a server's death revokes it), so
 * a write acknowledged under it is on every one of them at that version; all of them reporting an
 * older one, there was none.
 */
export function lostRaiseTargets(
  raise: { version: number; servers: readonly ServerId[] } | undefined,
  version: number,
  isAlive: (id: ServerId) => boolean,
  reportedOlder: (id: ServerId) => number | undefined,
): ServerId[] {
  if (raise?.version !== version || !raise.servers.every(isAlive)) return [];
  return raise.servers.filter((id) => (reportedOlder(id) ?? Infinity) < version);
}
