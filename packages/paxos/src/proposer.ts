import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { timing, type PaxosTiming } from './config.ts';
import type { AcceptorMsg, LearnerMsg, ProposerMsg } from './messages.ts';
import { ProposerCore, type ProposerEffect, type ProposerInput } from './proposer-core.ts';
import { makeStateMachine } from './state-machine.ts';
import { LeaderTrace } from './trace.ts';
import { droppedAsMalformed, proposerMsgProblem } from './validate.ts';

export interface ProposerProps {
  /** Unique among the group's proposers: it breaks ties between ballots of the same round. */
  id: number;
  acceptors: ActorRef<AcceptorMsg>[];
  learners: ActorRef<LearnerMsg>[];
  /** Every proposer of the group, this one included. */
  proposers: ActorRef<ProposerMsg>[];
  /** The group's state machine (its registered name): ops it finds invalid are refused before they take a slot. */
  machine?: string;
  timing?: Partial<PaxosTiming>;
  /** Keep stamps of each slot's way (see trace.ts), for a benchmark's breakdown. */
  trace?: boolean;
}

/** Every message type a proposer takes (a type the record misses fails to compile). */
const MESSAGE_TYPES: Record<ProposerMsg['type'], true> = {
  propose: true,
  'propose-batch': true,
  read: true,
  promise: true,
  accepted: true,
  nack: true,
  'heartbeat-ack': true,
  truncated: true,
  leader: true,
  'learner-status': true,
  fetch: true,
  subscribe: true,
  tick: true,
  flush: true,
  'linger-over': true,
  widen: true,
  status: true,
  trace: true,
};

/**
 * A proposer: the actor that hosts a ProposerCore (the protocol) and carries out its effects
 * through ctx: storage writes, sends (some once the writes before them are durable), replies,
 * timers and logs. See ProposerCore for what a proposer does.
 */
export const Proposer = defineActor('paxos.proposer', (props: ProposerProps, ctx: ActorContext<ProposerMsg>) => {
  const t = timing(props.timing);
  const machine = props.machine === undefined ? undefined : makeStateMachine(props.machine);
  const validate = machine?.validate?.bind(machine);
  const peers = { id: props.id, self: ctx.self, acceptors: props.acceptors, learners: props.learners, proposers: props.proposers, validate };
  const core = new ProposerCore(peers, t, () => ctx.random(), { round: ctx.storage.get<number>('round') ?? 0, now: ctx.now() });
  const trace = props.trace ? new LeaderTrace() : undefined;

  const run = (effects: ProposerEffect[]): void => {
    for (const e of effects) {
      switch (e.type) {
        case 'persist':
          ctx.storage.put(e.key, e.value);
          break;
        case 'send':
          trace?.sent(e.msg, ctx.now());
          ctx.send(e.to, e.msg as never);
          break;
        case 'send-many':
          trace?.sent(e.msg, ctx.now());
          ctx.sendMany(e.to, e.msg as never, { urgent: e.urgent === true });
          break;
        case 'send-durable':
          ctx.sendWhenDurable(e.to, e.msg as never);
          break;
        case 'reply':
          ctx.replyTo(e.handle, e.reply);
          break;
        case 'timer':
          ctx.setTimer(e.name, e.ms, e.msg as ProposerMsg);
          break;
        case 'log':
          ctx.log[e.level](e.text, e.data);
          break;
        default:
          throw new Error(`unknown proposer effect ${JSON.stringify(e satisfies never)}`);
      }
    }
  };

  ctx.setTimer('tick', t.heartbeatMs, { type: 'tick' }, { repeat: true });

  return (msg: ProposerMsg) => {
    if (droppedAsMalformed(ctx, msg, proposerMsgProblem)) return;
    if (!Object.hasOwn(MESSAGE_TYPES, msg.type)) return ctx.unhandled(msg);
    switch (msg.type) {
      case 'status':
        return ctx.reply(core.status(ctx.now()));
      case 'trace':
        return ctx.reply(trace?.stamps.take() ?? []);
      case 'propose':
        trace?.proposed([msg.cmd], ctx.now());
        return run(core.step({ type: 'propose', cmd: msg.cmd, handle: ctx.replyHandle() ?? null }, ctx.now()));
      case 'propose-batch':
        trace?.proposed(msg.cmds, ctx.now());
        return run(core.step({ type: 'propose-batch', cmds: msg.cmds, handle: ctx.replyHandle() ?? null }, ctx.now()));
      case 'read':
        return run(core.step({ type: 'read', query: msg.query, handle: ctx.replyHandle() ?? null }, ctx.now()));
      case 'accepted':
        trace?.accepted(msg.slot, msg.acceptor, ctx.now());
        return run(core.step(msg, ctx.now()));
      default:
        return run(core.step(msg satisfies ProposerInput, ctx.now()));
    }
  };
});
