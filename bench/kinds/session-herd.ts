/**
 * A bench client that multiplexes many lock-service sessions in one actor: it opens them at the
 * master and keeps one KeepAlive of each held there, as each session's own client would, without
 * an actor per session.
 */
import { defineActor, type ActorContext, type ActorRef, type Asks } from '@actorfs/actors';
import type { KeepAliveReply, ServerMsg, ServerReply } from '@actorfs/lockservice';

export interface HerdProps {
  master: ActorRef<ServerMsg>;
  leaseMs: number;
  /** Opens in flight at once. */
  openWindow: number;
}

export interface HerdCounts {
  opened: number;
  /** Sessions the master refused a KeepAlive for (expired or unknown): none should. */
  ended: number;
  /** KeepAlives that timed out (sent again at once). */
  lost: number;
  answered: number;
}

export type HerdMsg = ({ type: 'open'; count: number } & Asks<HerdCounts>) | ({ type: 'counts' } & Asks<HerdCounts>) | ({ type: 'stop' } & Asks<HerdCounts>);

export const SessionHerd = defineActor('bench.session-herd', (props: HerdProps, ctx: ActorContext<HerdMsg>) => {
  const counts: HerdCounts = { opened: 0, ended: 0, lost: 0, answered: 0 };
  let stopped = false;

  const keepAlive = (session: number, secret: string | undefined): void => {
    if (stopped) return;
    ctx.ask(props.master, { type: 'keepAlive', session, ...(secret === undefined ? {} : { secret }), acks: [] }, { timeoutMs: props.leaseMs + 5_000 }).then(
      (reply: KeepAliveReply) => {
        if (!reply.ok) return void counts.ended++;
        counts.answered++;
        keepAlive(session, secret);
      },
      () => {
        counts.lost++;
        keepAlive(session, secret);
      },
    );
  };

  const openOne = async (): Promise<void> => {
    const reply = (await ctx.ask(props.master, { type: 'op', op: { type: 'openSession', principal: 'herd' } }, { timeoutMs: 30_000 })) as ServerReply<{ session: number; secret?: string }>;
    if (!reply.ok) throw new Error(`openSession: ${reply.error.code}: ${reply.error.message}`);
    counts.opened++;
    keepAlive(reply.result.session, reply.result.secret);
  };

  const open = async (count: number): Promise<HerdCounts> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        next++;
        await openOne();
      }
    };
    await Promise.all(Array.from({ length: props.openWindow }, lane));
    return { ...counts };
  };

  return (msg: HerdMsg) => {
    switch (msg.type) {
      case 'open': {
        const to = ctx.replyHandle()!;
        open(msg.count).then(
          (c) => ctx.replyTo(to, c),
          (err: unknown) => ctx.replyErrorTo(to, err instanceof Error ? err : String(err)),
        );
        return;
      }
      case 'counts':
        return ctx.reply({ ...counts });
      case 'stop':
        stopped = true;
        return ctx.reply({ ...counts });
      default:
        return msg satisfies never;
    }
  };
});
