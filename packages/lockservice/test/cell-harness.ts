import type { ActorRef } from '@actorfs/actors';
import type { SimCluster } from '@actorfs/actors/testing';
import { cellConfig, ClientSession, LsClient, planCell, type CellOptions, type CellPlan, type ClientMsg } from '../src/index.ts';

/** Short timings for simulated cells: 1 s session lease, 3 s grace, 1 s lock-delay, 200 ms Paxos lease. */
export const SIM_CELL: CellOptions = {
  nodes: ['n0', 'n1', 'n2', 'n3', 'n4'],
  defaultLockDelayMs: 1000,
  timing: { leaseMs: 1000, answerBeforeEndMs: 200, gracePeriodMs: 3000, driftMs: 50, requestTimeoutMs: 500 },
  paxos: { leaseMs: 200 },
};

/** A simulated cell: every replica node booted with its actors, and a client node. */
export function simCell(sim: SimCluster, opts: CellOptions = SIM_CELL, cell = 'test'): CellPlan {
  const plan = planCell(cellConfig(cell, opts));
  for (const n of plan.config.nodes) sim.addNode(n, { boot: (node) => plan.on(n).forEach((s) => node.spawn(s.kind, s.props, { name: s.name })) });
  return plan;
}

/** A client session on `node` (added if missing), with its promise API driven through the simulator. */
export function simClient(sim: SimCluster, plan: CellPlan, node: string, name: string, principal = 'alice'): LsClient {
  if (!sim.nodeNames().includes(node)) sim.addNode(node);
  const ref: ActorRef<ClientMsg> = sim.spawn(node, ClientSession, { config: plan.config, servers: plan.servers, principal }, { name });
  return new LsClient(ref, (r, msg) => sim.call(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: 60_000 }));
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
