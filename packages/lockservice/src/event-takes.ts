import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import type { EventBuffer } from './client-events.ts';
import type { ClientMsg } from './client-protocol.ts';

/** Takes of events held for the next event at most; one more is answered at once (empty). */
export const MAX_HELD_TAKES = 1_000;

/**
 * The application's takes of its session's events: answered at once with what is buffered, or,
 * with a wait and none buffered, held until the next events arrive or the wait runs out.
 */
export class EventTakes {
  /** Takes waiting for the next events, oldest first (each with its timeout timer's id). */
  private readonly held: Array<{ id: number; to: ReplyHandle }> = [];
  private nextId = 1;

  constructor(
    private readonly ctx: ActorContext<ClientMsg>,
    private readonly events: EventBuffer,
  ) {}

  /** The take being received: events buffered are taken at once; with `waitMs` and none, it is held (or answered empty then). */
  take(waitMs: number | undefined): void {
    const to = this.ctx.replyHandle();
    if (this.events.length > 0 || !(waitMs !== undefined && waitMs > 0) || this.held.length >= MAX_HELD_TAKES || to === undefined) return this.ctx.reply(this.events.take());
    const id = this.nextId++;
    this.held.push({ id, to });
    this.ctx.setTimer(`take-${id}`, waitMs, { type: 'watchTimeout', id });
  }

  /** A held take's wait ran out: answered with what there is (nothing, or events that came since). */
  timedOut(id: number): void {
    const i = this.held.findIndex((h) => h.id === id);
    if (i >= 0) this.ctx.replyTo(this.held.splice(i, 1)[0]!.to, this.events.take());
  }

  /** Events just arrived: the oldest held take gets them at once. */
  push(): void {
    if (this.events.length === 0) return;
    const held = this.held.shift();
    if (held === undefined) return;
    this.ctx.cancelTimer(`take-${held.id}`);
    this.ctx.replyTo(held.to, this.events.take());
  }
}
