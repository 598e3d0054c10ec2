import type { ActorKind } from './kind.ts';
import type { Logger } from './log.ts';
import type { ActorRef, MessageOf, ReplyOf } from './ref.ts';
import type { ActorStorage } from './storage/node-storage.ts';
import type { StreamEvent, StreamOptions, StreamWriter } from './streams.ts';
import type { SupervisorStrategy } from './supervision.ts';

/**
 * Where a reply goes: the asking node and its correlation id. Plain data; it may be stored or
 * forwarded. R is a phantom: the reply's type, so `replyTo` checks the value at compile time.
 */
export interface ReplyHandle<R = unknown> {
  readonly node: string;
  readonly corr: number;
  readonly __reply?: R;
}

/** How a piped promise settled. */
export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

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
  /**
   * The storage domain behind ctx.storage (default 'default'). Each domain has its own store and
   * group commit: an actor that writes in bulk gets a domain of its own, so its writes never
   * delay the durable replies of actors in other domains.
   */
  storageDomain?: string;
}

export interface SendOptions {
  /**
   * To another thread, the message leaves when this actor's run ends, not with the rest of its
   * node's turn: for a message a peer's slow work waits on (a Paxos Accept, before the leader's own
   * acceptor writes). What the run sends to that peer goes in the same batch.
   */
  urgent?: boolean;
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
  /** Durable key-value storage, scoped to this actor's id, in its storage domain (SpawnOptions.storageDomain). */
  readonly storage: ActorStorage;
  /**
   * The actor's keys in another storage domain of its node. A durable reply or send then waits
   * for that domain's commit too.
   */
  storageDomain(name: string): ActorStorage;

  /** At-most-once, FIFO per sender/receiver pair. */
  send<T>(ref: ActorRef<T>, msg: T, opts?: SendOptions): void;
  /**
   * send to each ref, the message checked once and encoded once for all the refs on other nodes
   * (not once per ref): one message to many actors costs about one send.
   */
  sendMany<T>(refs: readonly ActorRef<T>[], msg: T, opts?: SendOptions): void;
  /** Sends once every write this node made so far is synced. */
  sendWhenDurable<T>(ref: ActorRef<T>, msg: T): void;
  /** The reply type follows from the message's `type` (see Asks). */
  ask<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>>;

  /** Answers the message being handled, if it was an ask (a tell's reply is dropped). */
  reply(value: unknown): void;
  replyError(error: Error | string): void;
  /** Like reply, but only once every write made so far is synced. */
  replyWhenDurable(value: unknown): void;
  /**
   * A handle to answer the current ask later (undefined for a tell). Given the message being
   * handled, the handle carries the reply type its `Asks<R>` declares.
   */
  replyHandle(): ReplyHandle | undefined;
  replyHandle<T extends M>(msg: T): ReplyHandle<ReplyOf<T>> | undefined;
  replyTo<R>(handle: ReplyHandle<R>, value: NoInfer<R>): void;
  replyErrorTo(handle: ReplyHandle<unknown>, error: Error | string): void;
  /**
   * When the promise settles, `toMsg(result)` is delivered to this actor as a message. The turn
   * does not wait: the actor keeps serving its mailbox while an ask (or any promise) is pending.
   * If toMsg throws, the actor fails as if its receive had thrown.
   */
  pipeToSelf<T>(promise: Promise<T>, toMsg: (result: Settled<T>) => M): void;

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
  /** Seeded per actor (system seed, node name and start, actor name and life): the same seed gives the same sequence; an actor spawned again under its name draws a fresh one. */
  random(): number;
  /**
   * Opens a flow-controlled stream of bytes to an actor whose protocol includes StreamEvent.
   * Any node, any thread, and the simulator alike. See StreamWriter.
   */
  openStream(ref: ActorRef<StreamEvent>, opts?: StreamOptions): StreamWriter;
  /** The receiver gives up on a stream it gets: the sender's writes and end fail with reason. */
  abortStream(stream: string, reason: string): void;
  /** Sends a message this actor does not handle to dead letters. */
  unhandled(msg: unknown): void;
}
