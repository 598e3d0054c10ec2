import type { ActorKind } from './kind.ts';
import type { Logger } from './log.ts';
import type { ActorRef, MessageOf, ReplyOf } from './ref.ts';
import type { ActorStorage } from './storage/node-storage.ts';
import type { SupervisorStrategy } from './supervision.ts';

/** Where a reply goes: the asking node and its correlation id. Plain data; it may be stored or forwarded. */
export interface ReplyHandle {
  readonly node: string;
  readonly corr: number;
}

export interface AskOptions {
  /** Default 5000. */
  timeoutMs?: number;
}

export interface SpawnOptions {
  /** A node-unique id; also the actor's persistence id for storage. Generated when absent. */
  name?: string;
  supervision?: Partial<SupervisorStrategy>;
  /** Messages the mailbox holds before new ones go to dead letters (default: the node's). */
  mailboxCapacity?: number;
}

export interface TimerOptions {
  /** Fire every delayMs until cancelled. */
  repeat?: boolean;
}

/**
 * An actor's only door to the world. Time, timers, randomness, storage and the network are
 * reached only through it, which is what lets the simulator replay any run from its seed.
 */
export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly node: string;
  readonly log: Logger;
  /** Durable key-value storage, scoped to this actor's id. */
  readonly storage: ActorStorage;

  /** At-most-once, FIFO per sender/receiver pair. */
  send<T>(ref: ActorRef<T>, msg: T): void;
  /** Sends once every write this node made so far is synced. */
  sendWhenDurable<T>(ref: ActorRef<T>, msg: T): void;
  /** The reply type follows from the message's `type` (see Asks). */
  ask<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>>;

  /** Answers the message being handled, if it was an ask (a tell's reply is dropped). */
  reply(value: unknown): void;
  replyError(error: Error | string): void;
  /** Like reply, but only once every write made so far is synced. */
  replyWhenDurable(value: unknown): void;
  /** A handle to answer the current ask later (undefined for a tell). */
  replyHandle(): ReplyHandle | undefined;
  replyTo(handle: ReplyHandle, value: unknown): void;
  replyErrorTo(handle: ReplyHandle, error: Error | string): void;

  /** A child on this node, supervised by this actor. */
  spawn<P, C>(kind: ActorKind<P, C>, props: P, opts?: SpawnOptions): ActorRef<C>;
  /** Stops this actor (no argument) or one of its children. */
  stop(ref?: ActorRef<never>): void;
  children(): ActorRef<unknown>[];
  /** When `ref` terminates (or its node dies), `msg` is delivered to this actor. */
  watch(ref: ActorRef<never>, msg: M): void;
  unwatch(ref: ActorRef<never>): void;

  /** Delivers msg to self after delayMs; a timer with the same key is replaced. */
  setTimer(key: string, delayMs: number, msg: M, opts?: TimerOptions): void;
  cancelTimer(key: string): void;
  /**
   * Resolves after delayMs (virtual time in the simulator). Unlike setTimer it needs no message,
   * so an async receive can wait (a retry backoff, say) while its turn holds the mailbox.
   */
  sleep(delayMs: number): Promise<void>;
  now(): number;
  /** Seeded per actor: the same seed gives the same sequence. */
  random(): number;
  /** Sends a message this actor does not handle to dead letters. */
  unhandled(msg: unknown): void;
}
