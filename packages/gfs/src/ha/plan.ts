import { ActorRef } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import { Master, type MasterProps } from '../master/master-actor.ts';
import type { MasterMsg } from '../protocol.ts';
import type { HaTiming, LockCellRef, MasterReplica } from './ha-config.ts';

/** One actor to spawn: on `node`, named `name`, of `kind` with `props`. */
export interface MasterReplicaSpec {
  node: string;
  name: string;
  kind: typeof Master;
  props: MasterProps;
}

export interface MasterReplicasPlan {
  replicas: MasterReplica[];
  specs: MasterReplicaSpec[];
}

/** The actor name of a master replica on its node. */
export const MASTER_REPLICA_NAME = 'gfs-master';

/**
 * A highly available master: one replica per node (named after it), backups first, then shadows.
 * Spawn each spec at every start of its node; the replicas find each other and the lock service from their props.
 */
export function planMasterReplicas(opts: { lock: LockCellRef; backups: string[]; shadows?: string[]; config?: Partial<GfsConfig>; timing?: Partial<HaTiming> }): MasterReplicasPlan {
  const replicas: MasterReplica[] = [
    ...opts.backups.map((node) => ({ name: node, ref: new ActorRef<MasterMsg>(node, MASTER_REPLICA_NAME), role: 'backup' as const })),
    ...(opts.shadows ?? []).map((node) => ({ name: node, ref: new ActorRef<MasterMsg>(node, MASTER_REPLICA_NAME), role: 'shadow' as const })),
  ];
  const specs = replicas.map((r) => ({
    node: r.name,
    name: MASTER_REPLICA_NAME,
    kind: Master,
    props: { ...(opts.config ? { config: opts.config } : {}), ha: { self: r.name, replicas, lock: opts.lock, ...(opts.timing ? { timing: opts.timing } : {}) } },
  }));
  return { replicas, specs };
}
