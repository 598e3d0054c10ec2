/** The testing entry point (`@actorfs/actors/testing`): the simulator, seeds, and the linearizability checker. */
export { SimCluster, type SimSend, type SimOptions, type SimNodeOptions } from '../sim/cluster.ts';
export { DriftingClocks, type ClockDriftOptions } from '../sim/clock-drift.ts';
export type { LinkFaults } from '../sim/network.ts';
export { simSeeds, withSeed, forEachSeed } from '../sim/seeds.ts';
export * from './linearizability.ts';
export * from './models.ts';
