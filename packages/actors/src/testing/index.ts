/** The testing entry point (`@actorfs/actors/testing`): the simulator, seeds, virtual-time sleeps, and the linearizability checker. */
export { SimCluster } from '../sim/cluster.ts';
export type { SimNodeOptions, SimOptions, SimSend } from '../sim/sim-options.ts';
export { DriftingClocks, type ClockDriftOptions } from '../sim/clock-drift.ts';
export type { LinkFaults } from '../sim/network.ts';
export { DiskError, FaultyDisk, type DiskFaults } from '../sim/faulty-disk.ts';
export { simSeeds, withSeed, forEachSeed } from '../sim/seeds.ts';
export { Sleeper } from '../sim/sleeper.ts';
export * from './linearizability.ts';
export * from './models.ts';
