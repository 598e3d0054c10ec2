/**
 * An actor's address: the node it lives on and its id there. Plain data, so it travels inside
 * messages (the codec encodes it as a msgpack extension). The message type is a phantom: it
 * exists only for the compiler, so `tell`/`ask` check messages at the call site.
 */
export class ActorRef<M = unknown> {
  declare readonly __msg?: (m: M) => void;
  constructor(
    readonly node: string,
    readonly id: string,
  ) {}

  toString(): string {
    return `${this.id}@${this.node}`;
  }

  // ActorRef<never> accepts a ref of any protocol (the phantom is contravariant; ActorRef<unknown> would not).
  equals(other: ActorRef<never> | undefined): boolean {
    return other !== undefined && other.node === this.node && other.id === this.id;
  }
}

/**
 * Whether v is an ActorRef. Its constructor, not `instanceof`: on the hot path of every send,
 * `instanceof` kept the check from being inlined and cost about a third of a same-thread tell
 * on a worker (an A/B of CPU per message).
 */
export function isActorRef(v: unknown): v is AnyRef {
  return (v as { constructor?: unknown } | null | undefined)?.constructor === ActorRef;
}

/** Marks a message as expecting a reply of type R: `{ type: 'get' } & Asks<number>`. */
export interface Asks<R> {
  readonly __reply?: R;
}

/** The reply type a message expects (unknown when it declares none). */
export type ReplyOf<M> = M extends Asks<infer R> ? (unknown extends R ? unknown : R) : unknown;

/** The members of union M whose `type` is T. */
export type MessageOf<M, T> = M extends { type: T } ? M : never;

/** Message types of a protocol. */
export type TypeOf<M> = M extends { type: infer T } ? T : never;

/** Any ref, whatever it accepts: you cannot send on it without knowing its protocol. */
export type AnyRef = ActorRef<never>;

/** A ref as one string, `id@node`: the key of maps of refs. */
export function refKey(ref: AnyRef): string {
  return `${ref.id}@${ref.node}`;
}
