/**
 * Compile-time claims about typed refs, checked by `tsc -p tsconfig.json` (the first step of
 * `pnpm test`); nothing here runs. Each `@ts-expect-error` must meet an error, or tsc fails with
 * "unused directive": a protocol that stopped being checked would break the build.
 */
import type { ActorContext, ActorRef, ActorSystem, AnyRef, Asks } from '../src/index.ts';
import { defineActor, unreachable } from '../src/index.ts';
import type { CounterMsg } from './fixtures/kinds.ts';

export async function systemCallsAreCheckedAgainstTheProtocol(sys: ActorSystem, counter: ActorRef<CounterMsg>): Promise<void> {
  // Right messages and reply types compile.
  sys.tell(counter, { type: 'add', by: 1 });
  const n: number = await sys.ask(counter, { type: 'get' });
  const done: string = await sys.ask(counter, { type: 'later', ms: 5 });
  void n;
  void done;

  // @ts-expect-error a message type the protocol does not have
  sys.tell(counter, { type: 'subtract', by: 1 });
  // @ts-expect-error a field of the wrong type
  sys.tell(counter, { type: 'add', by: 'one' });
  // @ts-expect-error a missing field
  sys.tell(counter, { type: 'add' });
  // @ts-expect-error ask with a message type the protocol does not have
  void sys.ask(counter, { type: 'reset' });
  // @ts-expect-error the reply to 'get' is a number, not a string
  const wrong: string = await sys.ask(counter, { type: 'get' });
  void wrong;
  // @ts-expect-error the reply to 'later' is a string, not a number
  const alsoWrong: number = await sys.ask(counter, { type: 'later', ms: 5 });
  void alsoWrong;
}

/** Inside an actor, ctx.send and ctx.ask are checked the same way. */
export const TypedCaller = defineActor('test.typed-caller', (props: { counter: ActorRef<CounterMsg> }, ctx: ActorContext<{ type: 'go' }>) => async () => {
  ctx.send(props.counter, { type: 'add', by: 2 });
  const n: number = await ctx.ask(props.counter, { type: 'get' });
  void n;
  // @ts-expect-error a message type the protocol does not have
  ctx.send(props.counter, { type: 'nope' });
  // @ts-expect-error the reply to 'get' is a number
  const s: string = await ctx.ask(props.counter, { type: 'get' });
  void s;
  // @ts-expect-error a watch notice must be one of the watcher's own messages
  ctx.watch(props.counter, { type: 'not-mine' });
  // @ts-expect-error a timer delivers one of the actor's own messages
  ctx.setTimer('k', 10, { type: 'add', by: 1 });
});

export function anyRefIsSendOnlyWithAProtocol(sys: ActorSystem, ref: AnyRef, counter: ActorRef<CounterMsg>): boolean {
  // @ts-expect-error AnyRef does not say what it accepts, so nothing can be sent on it
  sys.tell(ref, { type: 'add', by: 1 });
  // Any typed ref can be compared with any other.
  return ref.equals(counter) && counter.equals(ref);
}

type TypedAskMsg = ({ type: 'get' } & Asks<number>) | ({ type: 'name' } & Asks<string>) | { type: 'poke' };

/** A reply handle taken for a message carries that message's reply type. */
export const TypedHandles = defineActor('test.typed-handles', (_p: Record<string, never>, ctx: ActorContext<TypedAskMsg>) => (msg: TypedAskMsg) => {
  switch (msg.type) {
    case 'get': {
      const h = ctx.replyHandle(msg);
      if (!h) return;
      ctx.replyTo(h, 42);
      // @ts-expect-error the reply to 'get' is a number
      ctx.replyTo(h, 'forty-two');
      return;
    }
    case 'name': {
      const h = ctx.replyHandle(msg);
      if (h) ctx.replyTo(h, 'n');
      return;
    }
    case 'poke':
      return;
    default:
      return unreachable(msg);
  }
});

/** A switch that forgets a member of the union does not compile. */
export function unreachableNeedsEveryCase(msg: TypedAskMsg): string {
  switch (msg.type) {
    case 'get':
      return 'g';
    case 'name':
      return 'n';
    default:
      // @ts-expect-error 'poke' has no case
      return unreachable(msg);
  }
}
