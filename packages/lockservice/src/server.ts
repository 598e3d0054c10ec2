import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { compareBallots, PaxosClient, timing, type AppliedEvents, type Ballot, type LeadershipEvent, type LearnerMsg, type ProposeReply, type ProposerMsg } from '@actorfs/paxos';
import type { CellConfig } from './cell.ts';
import { cellMachine, type LsMachine } from './machine.ts';
import { Master } from './master.ts';
import { MAX_SESSION_LOOKUPS, type OwnerRefusal } from './session-owners.ts';
import { RecentRequests } from './recent-requests.ts';
import type { SessionId } from './protocol.ts';
import { serverMsgProblem } from './server-validate.ts';
import { validators } from './validate.ts';
import type { ServerMsg, ServerReply } from './server-protocol.ts';
import { unreachable } from './unreachable.ts';

/**
 * What a receive returns when it set async work going that does not start with a message (the
 * work answers later, by replyTo): a settled promise, which tells the runtime that continuations
 * are pending (the simulator runs them at once instead of at some later event). The actor takes
 * no other message until that promise's callbacks have run (a turn of its node): the client
 * session uses it for calls; the server, whose work starts with an ask, does not.
 */
export const STARTED: Promise<void> = Promise.resolve();

/** Requests remembered to drop their duplicates (at least; RecentRequests). */
export const MAX_RECENT_REQUESTS = 100_000;

/** Attempts the master makes at getting an op through Paxos before it answers UNAVAILABLE. */
export const MASTER_ATTEMPTS = 3;

export interface ServerProps {
  config: CellConfig;
  /** This replica's index: its proposer and learner are the group's at this index. */
  index: number;
  servers: ActorRef<ServerMsg>[];
  proposers: ActorRef<ProposerMsg>[];
  learner: ActorRef<LearnerMsg>;
}

/**
 * A replica's lock-service server. It is the master while its node's proposer leads (it hears
 * so from the proposer's leadership events, no polling), and otherwise answers "who is the
 * master" by asking its proposer for the leader and naming that node's server.
 */
export const Server = defineActor('lockservice.server', (props: ServerProps, ctx: ActorContext<ServerMsg>) => {
  const server = new ServerActor(props, ctx);
  return (msg: ServerMsg) => server.receive(msg);
});

type ClientRequestMsg = Extract<ServerMsg, { type: 'op' | 'acquire' | 'query' | 'keepAlive' }>;

class ServerActor {
  private readonly proposer: ActorRef<ProposerMsg>;
  private readonly paxos: PaxosClient<LsMachine>;
  private master: Master | undefined;
  private ballot: Ballot | undefined;
  private readonly recent = new RecentRequests(MAX_RECENT_REQUESTS);
  /** Ops and queries are checked here too, so a malformed one is refused as such before ownership is. */
  private readonly check: ReturnType<typeof validators>;

  constructor(
    private readonly props: ServerProps,
    private readonly ctx: ActorContext<ServerMsg>,
  ) {
    this.proposer = props.proposers[props.index]!;
    this.paxos = masterPaxosClient(props, ctx, this.proposer);
    this.check = validators(props.config.db);
    // The server takes both kinds of event: its ref is a ref to each (a narrower view of ServerMsg).
    ctx.send(this.proposer, { type: 'subscribe', subscriber: ctx.self as unknown as ActorRef<LeadershipEvent> });
    ctx.send(props.learner, { type: 'subscribe', subscriber: ctx.self as unknown as ActorRef<AppliedEvents> });
  }

  /**
   * Every receive returns at once, without a promise: the work a request sets going (Paxos asks,
   * reads) is sent before it returns and answers by replyTo, so the server takes its next request
   * in the same turn, and the replies and proposals of a turn leave together.
   */
  receive(msg: ServerMsg): void {
    const problem = serverMsgProblem(msg) ?? (msg.type === 'op' ? this.check.op(msg.op) : msg.type === 'query' ? this.check.query(msg.query) : undefined);
    if (problem !== undefined) {
      this.ctx.log.warn('bad request refused', { problem });
      return this.ctx.reply({ ok: false, error: { code: 'BAD_REQUEST', message: problem } });
    }
    switch (msg.type) {
      case 'leading':
        return this.lead(msg.ballot);
      case 'not-leading':
        this.master?.stop();
        [this.master, this.ballot] = [undefined, undefined];
        return this.ctx.cancelTimer('wake');
      case 'applied':
        return this.master?.events(msg.events);
      case 'wake':
        return this.master?.wake();
      case 'whoIsMaster':
        if (this.master?.ready) return this.ctx.reply({ master: this.ctx.self });
        return whoLeads(this.ctx, this.proposer, this.props, this.ctx.replyHandle());
      case 'op':
      case 'acquire':
      case 'query':
      case 'keepAlive':
        return this.request(msg);
      default:
        return unreachable(msg, 'lock-service server');
    }
  }

  private lead(ballot: Ballot): void {
    // Sent again at each lease renewal: a term is one ballot.
    if (this.ballot !== undefined && compareBallots(this.ballot, ballot) === 0) return;
    this.master?.stop();
    this.ballot = ballot;
    this.master = new Master(this.ctx, this.props.config, this.paxos, { round: ballot.round, id: ballot.id });
    this.master.start();
  }

  private request(msg: ClientRequestMsg): void {
    const to = this.ctx.replyHandle();
    // The network may deliver a request twice; its copy carries the same reply handle (unique per
    // ask) and is dropped, or a write would be proposed twice.
    if ((msg.type === 'op' || msg.type === 'acquire') && this.recent.isCopy(to)) return;
    const m = this.master;
    if (!m?.ready) return this.ctx.reply(msg.type === 'keepAlive' ? { ok: false, reason: 'notMaster' } : notMaster(this.ctx.node, this.props.config.db.cell));
    switch (msg.type) {
      case 'op':
        return this.owned(m, 'session' in msg.op ? msg.op.session : undefined, msg.secret, to, () => m.op(msg.op, to));
      case 'acquire':
        return this.owned(m, msg.session, msg.secret, to, () => m.acquire(msg, to));
      case 'query':
        return this.owned(m, 'session' in msg.query ? msg.query.session : undefined, msg.secret, to, () =>
          this.owned(m, msg.cache?.session, msg.secret, to, () => m.query(msg.query, msg.cache, to)),
        );
      case 'keepAlive':
        return m.whenOwner(msg.session, msg.secret, () => m.keepAlive(msg, to), (why) => to && this.ctx.replyTo(to, { ok: false, reason: why === 'notOwner' ? 'unknownSession' : 'notMaster' }));
      default:
        return unreachable(msg, 'client request');
    }
  }

  /** Runs `go` once the request may act on `session`, else answers the refusal. */
  private owned(m: Master, session: SessionId | undefined, secret: string | undefined, to: ReplyHandle | undefined, go: () => void): void {
    m.whenOwner(session, secret, go, (why) => to && this.ctx.replyTo(to, refusal(why)));
  }
}

/** The master's client of its group: only the local proposer, every client's commands in one session. */
function masterPaxosClient(props: ServerProps, ctx: ActorContext<ServerMsg>, proposer: ActorRef<ProposerMsg>): PaxosClient<LsMachine> {
  const t = timing(props.config.paxos);
  return new PaxosClient({
    clientId: `ls-master-${props.index}`,
    machine: cellMachine(props.config.db),
    // Only the local proposer: a deposed master must not reach the new leader by following a
    // hint, or it could open a session the new master's takeover did not see.
    proposers: [proposer],
    ask: (ref, msg, timeoutMs) =>
      ref.equals(proposer) ? (ctx.ask(ref, msg, { timeoutMs }) as Promise<ProposeReply | ProposeReply[]>) : Promise.resolve({ ok: false, reason: `${ctx.node} is no longer the leader` }),
    sleep: (ms) => ctx.sleep(ms),
    timeoutMs: props.config.timing.requestTimeoutMs,
    maxAttempts: MASTER_ATTEMPTS,
    // Every client's commands go through this one session: as wide as the group lets it be.
    window: t.sessionWindow,
    // No `batch`: sending a turn's proposes as one message cuts the messages per lock cycle (256
    // clients: 4.4-5.3 to 2.8-3.0; 16: 6.0-6.3 to 4.4), but in alternated runs (2026-11-30) it
    // cost more CPU per cycle, not less (256 clients: the master's thread 110-132 us against
    // 142-164, the cell's threads 269-304 against 326-374, the process 490-606 against 703-758;
    // 16 clients likewise), and 256 clients reached about half the cycles (0.58-0.63 of commit_256
    // against 0.30-0.32 in two of three pairs). So the master proposes one message per command.
  });
}

function refusal(why: OwnerRefusal): ServerReply<never> {
  return why === 'notOwner'
    ? { ok: false, error: { code: 'NOT_SESSION_OWNER', message: "the request names a session without that session's secret: only the client that opened a session may act on it" } }
    : { ok: false, error: { code: 'UNAVAILABLE', message: `the master is looking up ${MAX_SESSION_LOOKUPS} sessions it did not know; try again` } };
}

function notMaster(node: string, cell: string): ServerReply<never> {
  return { ok: false, error: { code: 'NOT_MASTER', message: `${node} is not the master of cell ${cell}` } };
}

/**
 * Asks the local proposer for the leader (a read it redirects; a small one) and names that node's
 * server; not this one (its master has not begun its term yet, or it would have answered itself).
 */
function whoLeads(ctx: ActorContext<ServerMsg>, proposer: ActorRef<ProposerMsg>, props: ServerProps, to: ReturnType<ActorContext<ServerMsg>['replyHandle']>): void {
  if (!to) return;
  ctx.ask(proposer, { type: 'read', query: { type: 'ephemerals', session: 0 } }, { timeoutMs: props.config.timing.requestTimeoutMs }).then(
    (reply) => {
      const leader = reply.ok ? proposer : 'leader' in reply ? reply.leader : undefined;
      const index = leader === undefined ? -1 : props.proposers.findIndex((p) => p.equals(leader));
      ctx.replyTo(to, { master: index >= 0 && index !== props.index ? props.servers[index]! : null });
    },
    () => ctx.replyTo(to, { master: null }),
  );
}
