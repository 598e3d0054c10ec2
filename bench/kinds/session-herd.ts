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

/** The herd's state and its ways with the master: one instance per SessionHerd actor. */
class Herd {
  readonly counts: HerdCounts = { opened: 0, ended: 0, lost: 0, answered: 0, masterChanges: 0 };
  stopped = false;
  private master: ActorRef<ServerMsg> | undefined;
  /** The master found last (kept when it is forgotten, to count changes). */
  private last: ActorRef<ServerMsg> | undefined;
  /** One look for the master at a time; every session that needs it waits on the same one. */
  private finding: Promise<ActorRef<ServerMsg>> | undefined;

  constructor(
    private readonly props: HerdProps,
    private readonly ctx: ActorContext<HerdMsg>,
  ) {}

  findMaster(): Promise<ActorRef<ServerMsg>> {
    if (this.master !== undefined) return Promise.resolve(this.master);
    this.finding ??= this.lookForMaster();
    return this.finding;
  }

  private async lookForMaster(): Promise<ActorRef<ServerMsg>> {
    for (;;) {
      const answers = await Promise.all(this.props.servers.map((s) => this.ctx.ask(s, { type: 'whoIsMaster' }, { timeoutMs: 5_000 }).then((r) => r.master, () => null)));
      const found = answers.find((m): m is ActorRef<ServerMsg> => m !== null);
      if (found) {
        if (this.last !== undefined && !found.equals(this.last)) this.counts.masterChanges++;
        [this.master, this.last, this.finding] = [found, found, undefined];
        return found;
      }
      await this.ctx.sleep(FIND_RETRY_MS);
    }
  }

  /** `refused` said it is not the master: look again after a while (the servers may still name it). */
  async lookAgain(refused: ActorRef<ServerMsg>): Promise<ActorRef<ServerMsg>> {
    if (this.master?.equals(refused)) this.master = undefined;
    await this.ctx.sleep(FIND_RETRY_MS);
    return this.findMaster();
  }

  keepAlive(session: number, secret: string | undefined, to: ActorRef<ServerMsg>): void {
    if (this.stopped) return;
    this.ctx.ask(to, { type: 'keepAlive', session, ...(secret === undefined ? {} : { secret }), acks: [] }, { timeoutMs: this.props.leaseMs + 5_000 }).then(
      (reply: KeepAliveReply) => {
        if (reply.ok) {
          this.counts.answered++;
          return this.keepAlive(session, secret, to);
        }
        if (reply.reason !== 'notMaster') return void this.counts.ended++;
        void this.lookAgain(to).then((m) => this.keepAlive(session, secret, m));
      },
      () => {
        this.counts.lost++;
        this.keepAlive(session, secret, to);
      },
    );
  }

  async openOne(): Promise<void> {
    let reason = '';
    for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
      const to = await this.findMaster();
      const reply = (await this.ctx.ask(to, { type: 'op', op: { type: 'openSession', principal: 'herd' } }, { timeoutMs: 30_000 })) as ServerReply<{ session: number; secret?: string }>;
      if (reply.ok) {
        this.counts.opened++;
        return this.keepAlive(reply.result.session, reply.result.secret, to);
      }
      reason = `${reply.error.code}: ${reply.error.message}`;
      // An open whose outcome is unknown leaves at most a session no one keeps alive: it expires.
      if (reply.error.code !== 'NOT_MASTER' && reply.error.code !== 'UNAVAILABLE') break;
      await this.lookAgain(to);
    }
    throw new Error(`openSession: ${reason}`);
  }

  async open(count: number): Promise<HerdCounts> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        next++;
        await this.openOne();
      }
    };
    await Promise.all(Array.from({ length: this.props.openWindow }, lane));
    return { ...this.counts };
  }
}

export const SessionHerd = defineActor('bench.session-herd', (props: HerdProps, ctx: ActorContext<HerdMsg>) => {
  const herd = new Herd(props, ctx);
  return (msg: HerdMsg) => {
    switch (msg.type) {
      case 'open': {
        const to = ctx.replyHandle()!;
        herd.open(msg.count).then(
          (c) => ctx.replyTo(to, c),
          (err: unknown) => ctx.replyErrorTo(to, err instanceof Error ? err : String(err)),
        );
        return;
      }
      case 'counts':
        return ctx.reply({ ...herd.counts });
      case 'stop':
        herd.stopped = true;
        return ctx.reply({ ...herd.counts });
      default:
        return msg satisfies never;
    }
  };
});
