/** What a node gets from its host (time, timers, a transport, options) and what it reports (stats). */
import type { DeadLetterReason } from './errors.ts';
import type { LogSink } from './log.ts';
import type { OpenStore, StorageDomainOptions } from './storage/domains.ts';
import type { TaskPools } from './tasks/task-pool.ts';
import type { StreamStats } from './streams.ts';

export type TimerHandle = unknown;

/** What a node needs from its host: time, timers and a way to run work soon. */
export interface NodeEnv {
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Whether an armed timer keeps the process alive (Node's ref/unref). Absent: every timer does. */
  holdTimer?(handle: TimerHandle, hold: boolean): void;
  /** Run fn soon, after pending I/O (setImmediate for real; an event in the simulator). */
  defer(fn: () => void): void;
  /**
   * Told when the runtime starts or settles promise work (an async receive, a reply to an ask),
   * so a simulator knows to let promise continuations run before its next event.
   */
  promised?(): void;
}

/**
 * How messages leave a node. Wire convention for one message (to, body, corr):
 * corr 0 is a tell, corr > 0 an ask expecting a reply, corr < 0 the reply to ask -corr
 * (to '' for a value, '!' for an error); to '$sys' is node-to-node housekeeping.
 */
export interface Transport {
  /** Queues a message; returns why it cannot be sent, or undefined. `urgent`: see flushUrgent. */
  send(node: string, to: string, body: unknown, corr: number, urgent?: boolean): DeadLetterReason | undefined;
  /**
   * Sends now what is queued for each peer an urgent message is queued for (the node calls it
   * when an actor's run ends), so that peer need not wait for the rest of the turn.
   */
  flushUrgent?(): void;
  /** Sends what is queued now (the node calls it at the end of a turn, before it commits storage). */
  flush?(): void;
  /**
   * Encodes a body once for several peers (ActorNode.tellMany); what it returns goes to `send`
   * in the body's place for each of them. Absent: each send carries the body itself.
   */
  shareEncoding?(body: unknown): unknown;
  /** Bodies this transport encoded to send (a shared one counts once), if it encodes. */
  readonly encodedBodies?: number;
}

export interface NodeOptions {
  name: string;
  env: NodeEnv;
  seed: number;
  logSink: LogSink;
  /** Opens a storage domain's store, on its first use (the default domain is 'default'). */
  openStore: OpenStore;
  /** Settings per storage domain (LMDB options, the bound on writes waiting for their commit). */
  storageDomains?: Record<string, StorageDomainOptions>;
  mailboxCapacity?: number;
  /** Messages a turn handles before yielding to the event loop. */
  turnBudget?: number;
  /** Messages one actor handles before others get a go. */
  actorBudget?: number;
  defaultAskTimeoutMs?: number;
  /** Makes the thread pools behind Pool actors (none: spawning a Pool fails with a clear error). */
  taskPools?: TaskPools;
  /**
   * Whether an actor's tell to an actor of this node is checked against the whole message rule
   * (default true), or only for its `type`: nothing is encoded on that path.
   */
  checkSameThreadMessages?: boolean;
}

export interface NodeStats {
  node: string;
  actors: number;
  messagesIn: number;
  messagesOut: number;
  processed: number;
  pendingAsks: number;
  mailboxTotal: number;
  /** The deepest mailboxes, deepest first. */
  deepestMailboxes: Array<{ actor: string; depth: number }>;
  deadLetters: { total: number; byReason: Partial<Record<DeadLetterReason, number>> };
  storage: { commits: number; writes: number };
  /** Message bodies encoded to leave this node (a body sent to several nodes with sendMany counts once). */
  encodedBodies: number;
  /** Streams open each way, and chunks, bytes, batches, credits and credit waits since the node started. */
  streams: StreamStats;
}
