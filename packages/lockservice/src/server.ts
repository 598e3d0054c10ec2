import { defineActor, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import { compareBallots, PaxosClient, timing, type AppliedEvents, type Ballot, type LeadershipEvent, type LearnerMsg, type ProposeReply, type ProposerMsg } from '@actorfs/paxos';
import type { CellConfig } from './cell.ts';
import { cellMachine } from './machine.ts';
import { Master, MAX_SESSION_LOOKUPS, type OwnerRefusal } from './master.ts';
import type { SessionId } from './protocol.ts';
import { serverMsgProblem } from './server-validate.ts';
import { validators } from './validate.ts';
import type { ServerMsg } from './server-protocol.ts';
import { unreachable } from './unreachable.ts';

/**
 * What a receive returns when it set async work going (the work answers later, by replyTo): a
 * settled promise, which tells the runtime that continuations are pending (the simulator runs
 * them at once instead of at some later event). The mailbox is not held.
 */
export const STARTED: Promise<void> = Promise.resolve();

/** Requests remembered to drop their duplicates. */
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
  const machine = cellMachine(props.config.db);
  const proposer = props.proposers[props.index]!;
  const paxos = new PaxosClient({
    clientId: `ls-master-${props.index}`,
    machine,
    // Only the local proposer: a deposed master must not reach the new leader by following a
    // hint, or it could open a session the new master's takeover did not see.
    proposers: [proposer],
    ask: (ref, msg, timeoutMs) =>
      ref.equals(proposer) ? (ctx.ask(ref, msg, { timeoutMs }) as Promise<ProposeReply>) : Promise.resolve({ ok: false, reason: `${ctx.node} is no longer the leader` }),
    sleep: (ms) => ctx.sleep(ms),
    timeoutMs: props.config.timing.requestTimeoutMs,
    maxAttempts: MASTER_ATTEMPTS,
    // Every client's commands go through this one session: as wide as the group lets it be.
    window: timing(props.config.paxos).sessionWindow,
  });
  let master: Master | undefined;
  let ballot: Ballot | undefined;

  // The server takes both kinds of event: its ref is a ref to each (a narrower view of ServerMsg).
  ctx.send(proposer, { type: 'subscribe', subscriber: ctx.self as unknown as ActorRef<LeadershipEvent> });
  ctx.send(props.learner, { type: 'subscribe', subscriber: ctx.self as unknown as ActorRef<AppliedEvents> });

  // The network may deliver a request twice; its copy carries the same reply handle (unique per
  // ask) and is dropped, or a write would be proposed twice. The newest MAX_RECENT_REQUESTS are kept.
  const recent = new Set<string>();
  const duplicate = (h: ReplyHandle | undefined): boolean => {
    if (!h) return false;
    const key = `${h.node}#${h.corr}`;
    if (recent.has(key)) return true;
    recent.add(key);
    if (recent.size > MAX_RECENT_REQUESTS) recent.delete(recent.values().next().value!);
    return false;
  };

  // Ops and queries are checked here too, so a malformed one is refused as such before ownership is.
  const check = validators(props.config.db);
  const refusal = (why: OwnerRefusal) =>
    why === 'notOwner'
      ? { ok: false, error: { code: 'NOT_SESSION_OWNER', message: "the request names a session without that session's secret: only the client that opened a session may act on it" } }
      : { ok: false, error: { code: 'UNAVAILABLE', message: `the master is looking up ${MAX_SESSION_LOOKUPS} sessions it did not know; try again` } };
  const notMaster = () => ({ ok: false, error: { code: 'NOT_MASTER', message: `${ctx.node} is not the master of cell ${props.config.db.cell}` } });

  /**
   * Runs `go` (with the master and the reply handle) once the request may act on `session`, else
   * answers the refusal. The receive returns at once, without a promise: the work it set going
   * (Paxos asks, reads) is sent before it returns and answers by replyTo, so the server takes its
   * next request in the same turn, and the replies and proposals of a turn leave together.
   */
  const owned = (m: Master, session: SessionId | undefined, secret: string | undefined, go: (m: Master, to: ReplyHandle | undefined) => void, to = ctx.replyHandle()): void => {
    m.whenOwner(session, secret, () => go(m, to), (why) => to && ctx.replyTo(to, refusal(why)));
  };

  return (msg: ServerMsg) => {
    const problem = serverMsgProblem(msg) ?? (msg.type === 'op' ? check.op(msg.op) : msg.type === 'query' ? check.query(msg.query) : undefined);
    if (problem !== undefined) {
      ctx.log.warn('bad request refused', { problem });
      return ctx.reply({ ok: false, error: { code: 'BAD_REQUEST', message: problem } });
    }
    switch (msg.type) {
      case 'leading':
        // Sent again at each lease renewal: a term is one ballot.
        if (ballot !== undefined && compareBallots(ballot, msg.ballot) === 0) return;
        master?.stop();
        ballot = msg.ballot;
        master = new Master(ctx, props.config, paxos, `${msg.ballot.round}.${msg.ballot.id}`);
        master.start();
        return;
      case 'not-leading':
        master?.stop();
        master = undefined;
        ballot = undefined;
        ctx.cancelTimer('wake');
        return;
      case 'applied':
        return master?.events(msg.events);
      case 'wake':
        return master?.wake();
      case 'whoIsMaster':
        if (master?.ready) return ctx.reply({ master: ctx.self });
        whoLeads(ctx, proposer, props, ctx.replyHandle());
        return STARTED;
      case 'op':
        if (duplicate(ctx.replyHandle())) return;
        if (!master?.ready) return ctx.reply(notMaster());
        return owned(master, 'session' in msg.op ? msg.op.session : undefined, msg.secret, (m, to) => m.op(msg.op, to));
      case 'acquire':
        if (duplicate(ctx.replyHandle())) return;
        if (!master?.ready) return ctx.reply(notMaster());
        return owned(master, msg.session, msg.secret, (m, to) => m.acquire(msg, to));
      case 'query':
        if (!master?.ready) return ctx.reply(notMaster());
        return owned(master, 'session' in msg.query ? msg.query.session : undefined, msg.secret, (m, to) =>
          owned(m, msg.cache?.session, msg.secret, () => m.query(msg.query, msg.cache, to), to),
        );
      case 'keepAlive': {
        if (!master?.ready) return ctx.reply({ ok: false, reason: 'notMaster' });
        const m = master;
        const to = ctx.replyHandle();
        m.whenOwner(msg.session, msg.secret, () => m.keepAlive(msg, to), (why) => to && ctx.replyTo(to, { ok: false, reason: why === 'notOwner' ? 'unknownSession' : 'notMaster' }));
        return;
      }
      default:
        return unreachable(msg, 'lock-service server');
    }
  };
});

/** Asks the local proposer for the leader (a read it redirects; a small one) and names that node's server. */
function whoLeads(ctx: ActorContext<ServerMsg>, proposer: ActorRef<ProposerMsg>, props: ServerProps, to: ReturnType<ActorContext<ServerMsg>['replyHandle']>): void {
  if (!to) return;
  ctx.ask(proposer, { type: 'read', query: { type: 'ephemerals', session: 0 } }, { timeoutMs: props.config.timing.requestTimeoutMs }).then(
    (reply) => {
      const leader = reply.ok ? proposer : 'leader' in reply ? reply.leader : undefined;
      const index = leader === undefined ? -1 : props.proposers.findIndex((p) => p.equals(leader));
      ctx.replyTo(to, { master: index >= 0 ? props.servers[index]! : null });
    },
    () => ctx.replyTo(to, { master: null }),
  );
}
