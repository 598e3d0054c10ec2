/**
 * A bench client that multiplexes many lock-service sessions in one actor: it opens them at the
 * master and keeps one KeepAlive of each held there, as each session's own client would, without
 * an actor per session. Like a client, it follows the master to another replica (the new master
 * takes the sessions over within their grace period), and counts each change.
 */
import { defineActor, type ActorContext, type ActorRef, type Asks } from '@actorfs/actors';
import type { KeepAliveReply, ServerMsg, ServerReply } from '@actorfs/lockservice';

export interface HerdProps {
  /** The cell's servers: any of them names the master. */
  servers: ActorRef<ServerMsg>[];
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
  /** Times the herd found another master than the one it had (none should, with no fault injected). */
  masterChanges: number;
}

export type HerdMsg = ({ type: 'open'; count: number } & Asks<HerdCounts>) | ({ type: 'counts' } & Asks<HerdCounts>) | ({ type: 'stop' } & Asks<HerdCounts>);

/** Between looks for the master while none answers. */
const FIND_RETRY_MS = 100;
/** Attempts at one open (each after finding the master again) before the run fails. */
const OPEN_ATTEMPTS = 10;

export const SessionHerd = defineActor('bench.session-herd', (props: HerdProps, ctx: ActorContext<HerdMsg>) => {
  const counts: HerdCounts = { opened: 0, ended: 0, lost: 0, answered: 0, masterChanges: 0 };
  let stopped = false;
  let master: ActorRef<ServerMsg> | undefined;
  /** The master found last (kept when it is forgotten, to count changes). */
  let last: ActorRef<ServerMsg> | undefined;
  /** One look for the master at a time; every session that needs it waits on the same one. */
  let finding: Promise<ActorRef<ServerMsg>> | undefined;

  const findMaster = (): Promise<ActorRef<ServerMsg>> => {
    if (master !== undefined) return Promise.resolve(master);
    finding ??= (async () => {
      for (;;) {
        const answers = await Promise.all(props.servers.map((s) => ctx.ask(s, { type: 'whoIsMaster' }, { timeoutMs: 5_000 }).then((r) => r.master, () => null)));
        const found = answers.find((m): m is ActorRef<ServerMsg> => m !== null);
        if (found) {
          if (last !== undefined && !found.equals(last)) counts.masterChanges++;
          [master, last, finding] = [found, found, undefined];
          return found;
        }
        await ctx.sleep(FIND_RETRY_MS);
      }
    })();
    return finding;
  };
  /** `refused` said it is not the master: look again after a while (the servers may still name it). */
  const lookAgain = async (refused: ActorRef<ServerMsg>): Promise<ActorRef<ServerMsg>> => {
    if (master?.equals(refused)) master = undefined;
    await ctx.sleep(FIND_RETRY_MS);
    return findMaster();
  };

  const keepAlive = (session: number, secret: string | undefined, to: ActorRef<ServerMsg>): void => {
    if (stopped) return;
    ctx.ask(to, { type: 'keepAlive', session, ...(secret === undefined ? {} : { secret }), acks: [] }, { timeoutMs: props.leaseMs + 5_000 }).then(
      (reply: KeepAliveReply) => {
        if (reply.ok) {
          counts.answered++;
          return keepAlive(session, secret, to);
        }
        if (reply.reason !== 'notMaster') return void counts.ended++;
        void lookAgain(to).then((m) => keepAlive(session, secret, m));
      },
      () => {
        counts.lost++;
        keepAlive(session, secret, to);
      },
    );
  };

  const openOne = async (): Promise<void> => {
    let reason = '';
    for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
      const to = await findMaster();
      const reply = (await ctx.ask(to, { type: 'op', op: { type: 'openSession', principal: 'herd' } }, { timeoutMs: 30_000 })) as ServerReply<{ session: number; secret?: string }>;
      if (reply.ok) {
        counts.opened++;
        return keepAlive(reply.result.session, reply.result.secret, to);
      }
      reason = `${reply.error.code}: ${reply.error.message}`;
      // An open whose outcome is unknown leaves at most a session no one keeps alive: it expires.
      if (reply.error.code !== 'NOT_MASTER' && reply.error.code !== 'UNAVAILABLE') break;
      await lookAgain(to);
    }
    throw new Error(`openSession: ${reason}`);
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
