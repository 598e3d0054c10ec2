import type { ActorContext } from './context.ts';

/**
 * What an actor does with a message. A returned promise makes the turn last until it settles.
 * A receive that returns (or resolves to) another receive function switches the actor to it
 * from the next message on: protocol roles can be separate functions (Akka Typed's behaviours).
 */
export type Receive<M> = (msg: M) => Next<M> | Promise<Next<M>>;

/** What a receive returns: nothing (same behaviour next time) or the next behaviour. */
export type Next<M> = void | Receive<M>;

/** A behaviour: a receive function, or an object with lifecycle hooks too. */
export type Behavior<M> =
  | Receive<M>
  | {
      receive: Receive<M>;
      /** Called once when the actor stops (not when it is restarted after a failure). */
      stopped?: () => void;
    };

export type Setup<P, M> = (props: P, ctx: ActorContext<M>) => Behavior<M> | Promise<Behavior<M>>;

/** A kind: a named way to make actors. Names, not classes, cross threads. */
export interface ActorKind<P, M> {
  readonly name: string;
  readonly setup: Setup<P, M>;
  /** Phantom: the props and message types, for typed spawn and refs. */
  readonly __types?: { props: P; msg: M };
}

const registry = new Map<string, ActorKind<unknown, unknown>>();

/**
 * Register a kind under a unique name. Modules that define kinds are imported by every node that
 * spawns them; registering the same name twice from different code is an error.
 */
export function defineActor<P, M>(name: string, setup: Setup<P, M>): ActorKind<P, M> {
  const existing = registry.get(name);
  if (existing && existing.setup.toString() !== setup.toString()) {
    throw new Error(`actor kind ${name} is already defined by other code`);
  }
  const kind: ActorKind<P, M> = { name, setup };
  registry.set(name, kind as ActorKind<unknown, unknown>);
  return kind;
}

export function lookupKind(name: string): ActorKind<unknown, unknown> | undefined {
  return registry.get(name);
}

export function kindNames(): string[] {
  return [...registry.keys()];
}

export type PropsOf<K> = K extends ActorKind<infer P, unknown> ? P : never;
export type MsgOf<K> = K extends ActorKind<unknown, infer M> ? M : never;
