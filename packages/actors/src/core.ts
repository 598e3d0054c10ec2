/**
 * The core entry point (`@actorfs/actors/core`): actors, nodes, codec, streams, storage interfaces
 * and the in-memory store. It loads neither LMDB, nor comlink, nor piscina, so the simulator and
 * the testing helpers (which import only this) run without them. Threads and LMDB are in the
 * main entry point (`@actorfs/actors`), which re-exports all of this.
 */
export { ActorRef, type AnyRef, type Asks, type ReplyOf, type MessageOf } from './ref.ts';
export { defineActor, lookupKind, type ActorKind, type Behavior, type Next, type Receive, type Setup } from './kind.ts';
export { unreachable } from './exhaustive.ts';
export type { ActorContext, AskOptions, ReplyHandle, SendOptions, Settled, SpawnOptions, TimerOptions } from './context.ts';
export { ActorNode } from './node.ts';
export type { NodeEnv, NodeOptions, NodeStats, Transport } from './node-host.ts';
export { AskTimeoutError, ControlTimeoutError, DeliveryError, RemoteActorError, StorageCommitError, type DeadLetterReason } from './errors.ts';
export type { DeadLetter } from './dead-letters.ts';
export { defaultStrategy, type SupervisorStrategy } from './supervision.ts';
export type { ActorStorage, StorageKey } from './storage/node-storage.ts';
export { FramedBytes } from './storage/framed-bytes.ts';
export type { DurableStore, Key, KeyPart } from './storage/store.ts';
export { MemoryStore } from './storage/memory-store.ts';
export { encode, decode, encodeRecords, decodeRecords, handOver, nativeDecoding } from './codec.ts';
export { UnsendableError, MAX_MESSAGE_DEPTH } from './message-shape.ts';
export type { Logger, LogLevel, LogSink } from './log.ts';
export { Pool, type PoolMsg, type PoolProps } from './pool.ts';
export { seededRandom, hashString, type Random } from './random.ts';
export { Backoff, backoffWaitMs, type BackoffTiming } from './backoff.ts';
export { afterTurn } from './after-turn.ts';
export { StreamError, MAX_STREAMS_PER_NODE, type StreamCounts, type StreamEvent, type StreamOptions, type StreamStats, type StreamWriter } from './streams.ts';
export { DEFAULT_DOMAIN, type OpenStore, type StorageDomainOptions } from './storage/domains.ts';
export type { TaskPool, TaskPoolSpec, TaskPools } from './tasks/task-pool.ts';
