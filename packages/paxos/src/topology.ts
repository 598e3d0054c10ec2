import { ActorRef, type ActorKind, type AnyRef } from '@actorfs/actors';
import { Acceptor } from './acceptor.ts';
import { timing, type PaxosTiming } from './config.ts';
import { Learner } from './learner.ts';
import type { AcceptorMsg, LearnerMsg, ProposerMsg } from './messages.ts';
import { Proposer } from './proposer.ts';
import type { AnyMachineDef } from './state-machine.ts';

export interface GroupLayout {
  /** A name for the group; actor names derive from it. Default 'paxos'. */
  name?: string;
  /** The node of each acceptor (3, 5 or 7 of them, say). */
  acceptors: string[];
  proposers: string[];
  learners: string[];
  /** The state machine learners build (its definition, or the name it was registered under). */
  machine: AnyMachineDef | string;
  timing?: Partial<PaxosTiming>;
  /** Every actor keeps stamps of each slot's way (see trace.ts): for a benchmark's breakdown. */
  trace?: boolean;
}

/** One actor to spawn: `system.spawn(s.kind, s.props, { node: s.node, name: s.name })`. */
export interface ActorSpec {
  node: string;
  name: string;
  /** Erased to unknown props, so specs of different kinds share a list; spec() pairs each with its props. */
  kind: ActorKind<unknown, unknown>;
  props: unknown;
}

export interface GroupPlan {
  acceptors: ActorRef<AcceptorMsg>[];
  proposers: ActorRef<ProposerMsg>[];
  learners: ActorRef<LearnerMsg>[];
  /** Every actor to spawn, with its node and name. */
  specs: ActorSpec[];
  /** The specs of one node (spawn them at each start of that node). */
  on(node: string): ActorSpec[];
  /**
   * Spawns the group's actors of one node, at its first start or after a restart (the same names
   * reload their storage); answers their refs. Fails with the system's error if the node is down
   * or one of them is already running.
   */
  spawnOn(system: GroupSpawner, node: string): Promise<AnyRef[]>;
}

/** What spawnOn needs of an ActorSystem. */
export interface GroupSpawner {
  spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: { node: string; name: string }): Promise<ActorRef<M>>;
}

/**
 * Places a group's acceptors, proposers and learners on nodes. Refs are known before anything is
 * spawned (names are fixed), so every actor gets its peers in its props, and a restarted node
 * spawns the same names, which reload their storage.
 */
export function planGroup(layout: GroupLayout): GroupPlan {
  const g = layout.name ?? 'paxos';
  for (const role of ['acceptors', 'proposers', 'learners'] as const) {
    if (!Array.isArray(layout[role]) || layout[role].length === 0) throw new RangeError(`group ${g}: ${role} is empty; name the node of each (3, 5 or 7 acceptors; at least one proposer and one learner)`);
  }
  const acceptors = layout.acceptors.map((n, i) => new ActorRef<AcceptorMsg>(n, `${g}-acceptor-${i}`));
  const proposers = layout.proposers.map((n, i) => new ActorRef<ProposerMsg>(n, `${g}-proposer-${i}`));
  const learners = layout.learners.map((n, i) => new ActorRef<LearnerMsg>(n, `${g}-learner-${i}`));
  timing(layout.timing); // settings that cannot work fail here, not in every actor at spawn
  const t = { ...(layout.timing === undefined ? {} : { timing: layout.timing }), ...(layout.trace ? { trace: true } : {}) };
  const machine = typeof layout.machine === 'string' ? layout.machine : layout.machine.name;
  const specs: ActorSpec[] = [
    ...acceptors.map((r, index) => spec(r, Acceptor, { index, ...t })),
    ...proposers.map((r, id) => spec(r, Proposer, { id, acceptors, learners, proposers, machine, ...t })),
    ...learners.map((r, index) => spec(r, Learner, { index, machine, acceptors, learners, proposers, ...t })),
  ];
  const on = (node: string): ActorSpec[] => specs.filter((s) => s.node === node);
  const spawnOn = async (system: GroupSpawner, node: string): Promise<AnyRef[]> => {
    const refs: AnyRef[] = [];
    for (const s of on(node)) refs.push(await system.spawn(s.kind, s.props, { node: s.node, name: s.name }));
    return refs;
  };
  return { acceptors, proposers, learners, specs, on, spawnOn };
}

function spec<P, M>(ref: AnyRef, kind: ActorKind<P, M>, props: P): ActorSpec {
  return { node: ref.node, name: ref.id, kind: kind as unknown as ActorKind<unknown, unknown>, props };
}
