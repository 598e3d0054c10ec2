import type { ActorContext } from '@actorfs/actors';

/**
 * Wraps an actor's receive so that a message it cannot serve (a bad path, an operation that does
 * not fit, malformed fields) is refused with a clear error to the asker, or a warning for a tell,
 * and the actor goes on serving with its state untouched.
 */
export function refusingBadInput<M extends { type: string }>(ctx: ActorContext<M>, receive: (msg: M) => void): (msg: M) => void {
  return (msg: M) => {
    try {
      receive(msg);
    } catch (err) {
      if (!ctx.replyHandle()) ctx.log.warn('message refused', { type: String((msg as { type?: unknown }).type), error: String(err) });
      ctx.replyError(err instanceof Error ? err : String(err));
    }
  };
}
