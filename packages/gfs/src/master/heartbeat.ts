import type { MasterMsg } from '../protocol.ts';
import type { ChunkLocations, Lease, ReplicaReport, ServerId } from './chunk-locations.ts';
import { replicasToDelete } from './garbage-collection.ts';
import type { LeaseGrants } from './lease-grants.ts';
import type { PendingCreations } from './pending-creations.ts';
import type { ChunkHandle } from './records.ts';
import type { ClonesInProgress } from './replication-plan.ts';

export type Heartbeat = Extract<MasterMsg, { type: 'heartbeat' }>;

/** What is wrong with a heartbeat, if anything (it is then refused and changes nothing). */
export function heartbeatProblem(msg: Heartbeat): string | undefined {
  if (typeof msg.server !== 'string' || typeof msg.rack !== 'string') return 'server and rack must be strings';
  if (!(msg.usedBytes >= 0 && msg.capacityBytes >= 0)) return 'usedBytes and capacityBytes must be numbers >= 0';
  if (!Array.isArray(msg.chunks)) return 'chunks must be a list';
  if (msg.leases !== undefined && !(Array.isArray(msg.leases) && msg.leases.every((h: unknown) => Number.isSafeInteger(h)))) return 'leases must be a list of chunk handles';
  if (msg.cloning !== undefined && !(Array.isArray(msg.cloning) && msg.cloning.every((h: unknown) => Number.isSafeInteger(h)))) return 'cloning must be a list of chunk handles';
  const bad = msg.chunks.find((c: unknown) => {
    const r = c as { handle?: unknown; version?: unknown } | null;
    return !Number.isSafeInteger(r?.handle) || !Number.isSafeInteger(r?.version);
  });
  return bad === undefined ? undefined : `bad chunk report ${JSON.stringify(bad)}`;
}

/** What a heartbeat's step reads and updates of the master's state: its cores, no I/O. */
export interface HeartbeatState {
  readonly locations: ChunkLocations;
  readonly creating: PendingCreations;
  readonly clones: ClonesInProgress;
  readonly grants: LeaseGrants;
  versionOf(handle: ChunkHandle): number | undefined;
  /** Why the chunk's lease may not be extended now (a snapshot or a clone waits for it to end), if so. */
  frozen(handle: ChunkHandle): string | undefined;
}

export interface HeartbeatTiming {
  nowMs: number;
  leaseMs: number;
  heartbeatIntervalMs: number;
}

/** What the master carries out for a heartbeat, in this order. */
export interface HeartbeatEffects {
  /** Leases extended: each primary is told (lease-granted), with the replicas it forwards to. */
  extended: Array<{ handle: ChunkHandle; version: number; lease: Lease; replicas: ServerId[] }>;
  /** Chunks whose running grant sends its order to this server (again), restarting the grant's timer. */
  grantOrders: ChunkHandle[];
  /** Replicas ahead of the master's version (it failed while granting a lease): the master logs their version. */
  adopt: ReplicaReport[];
  /** The heartbeat's answer: the chunks this server deletes. */
  deletions: ChunkHandle[];
}

/**
 * A running lease of `server` on the chunk, at the master's `version`, gets leaseMs more (state
 * only: the master tells the primary). Refused with the reason while a snapshot or a clone waits
 * for the lease to end, or when the server holds none.
 */
export function extendLease(state: Pick<HeartbeatState, 'locations' | 'versionOf' | 'frozen'>, server: ServerId, handle: ChunkHandle, version: number, timing: Omit<HeartbeatTiming, 'heartbeatIntervalMs'>): Lease {
  const current = state.versionOf(handle);
  if (current === undefined) throw new Error(`unknown chunk handle ${handle}`);
  if (version !== current) throw new Error(`chunk ${handle}: version ${version} is stale (the master's is ${current})`);
  const frozen = state.frozen(handle);
  if (frozen) throw new Error(`chunk ${handle} ${frozen}: its lease is not extended`);
  if (!state.locations.extendLease(handle, server, timing.nowMs, timing.leaseMs)) throw new Error(`chunk ${handle}: ${server} holds no running lease on it`);
  return state.locations.lease(handle, timing.nowMs)!;
}

/**
 * The replicas a primary forwards mutations to: the live ones, and at a grant also those the
 * raise went to whose answer is missing (they may hold the new version, and would be read later
 * with mutations missed).
 */
export function primaryReplicas(state: Pick<HeartbeatState, 'locations' | 'grants'>, handle: ChunkHandle, version: number): ServerId[] {
  return [...new Set([...state.locations.liveReplicas(handle, version), ...state.grants.unanswered(handle, version)])];
}

/**
 * One heartbeat, in the master's order: the leases its server still mutates under are extended
 * (as they stood before this report); the report replaces what was known of the server; creations
 * and clones it shows done end; a running grant takes the server in; replicas ahead are adopted;
 * and the answer deletes orphans and stale replicas, except those kept: late to a raise, the
 * target of a clone, or the last copies of a chunk. A master off duty (a backup or shadow) only
 * learns where chunks are.
 */
export function stepHeartbeat(msg: Heartbeat, state: HeartbeatState, timing: HeartbeatTiming, offDuty: boolean): HeartbeatEffects {
  const effects: HeartbeatEffects = { extended: [], grantOrders: [], adopt: [], deletions: [] };
  const versionOf = (h: ChunkHandle): number | undefined => state.versionOf(h);
  if (offDuty) {
    state.locations.applyReport(msg.server, msg.chunks, versionOf);
    return effects;
  }
  for (const handle of msg.leases ?? []) {
    try {
      const version = state.versionOf(handle) ?? -1;
      const lease = extendLease(state, msg.server, handle, version, timing);
      effects.extended.push({ handle, version, lease, replicas: primaryReplicas(state, handle, version) });
    } catch {
      // not extended: the primary's lease runs out and it asks for a new one
    }
  }
  const verdict = state.locations.applyReport(msg.server, msg.chunks, versionOf);
  for (const { handle } of msg.chunks) state.creating.reported(msg.server, handle);
  state.clones.endedAt(msg.server, msg.cloning ?? [], timing.nowMs, timing.heartbeatIntervalMs);
  effects.grantOrders = state.grants.takeIn(msg.server, msg.chunks);
  effects.adopt = verdict.ahead;
  const reported = new Map(msg.chunks.map((c) => [c.handle, c.version]));
  const kept = (h: ChunkHandle): boolean =>
    state.grants.awaits(msg.server, h, reported.get(h), state.versionOf(h)) ||
    state.clones.get(h)?.target === msg.server ||
    state.locations.liveReplicas(h, state.versionOf(h)!).length === 0;
  effects.deletions = replicasToDelete(verdict, kept);
  return effects;
}
