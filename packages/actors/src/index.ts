/** The main entry point: the core, plus the thread runtime (ActorSystem) and the LMDB store. */
export * from './core.ts';
export { ActorSystem, type NodeEnding, type ShutdownReport, type SystemOptions, type SystemSpawnOptions } from './system.ts';
export { LmdbStore } from './storage/lmdb-store.ts';
export type { LogSinkFactory, StoreFactory } from './thread/real-node.ts';
