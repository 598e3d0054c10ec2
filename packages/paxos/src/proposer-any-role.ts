import type { ActorRef } from '@actorfs/actors';
import { compareBallots, sameBallot } from './ballot.ts';
import { MAX_SUBSCRIBERS } from './config.ts';
import type { LeadershipEvent, ProposerMsg } from './messages.ts';
import type { ProposerInput, ProposerState, RoleHost } from './proposer-state.ts';

/** The role a message finds the proposer in: its kind, and the lease's deadline while it leads. */
export interface RoleNow {
  kind: 'follower' | 'candidate' | 'leader';
  /** A leader's lease deadline (0 until first granted). */
  leaseUntil?: number;
}

/** Messages every role handles alike (a role passes on what it does not handle itself), and those a role ignores. */
export function stepAnyRole(s: ProposerState, host: RoleHost, role: RoleNow, input: ProposerInput): void {
  switch (input.type) {
    case 'read':
      return s.reply(input.handle, s.notLeader('not leader'));
    case 'nack':
      return nack(s, host, role, input);
    case 'leader':
      return heardLeader(s, host, role, input);
    case 'learner-status':
      s.learnerHeard.set(input.learner, s.now);
      s.learnerSnapshot = Math.max(s.learnerSnapshot, input.snapshot);
      return;
    case 'subscribe':
      return subscribe(s, role, input.subscriber);
    case 'propose':
    case 'propose-batch':
    case 'promise':
    case 'accepted':
    case 'heartbeat-ack':
    case 'truncated':
    case 'fetch':
    case 'tick':
    case 'flush':
    case 'linger-over':
    case 'widen':
      return; // for another role, or stale
    default:
      throw new Error(`unknown proposer input ${JSON.stringify(input satisfies never)}`);
  }
}

function nack(s: ProposerState, host: RoleHost, role: RoleNow, msg: Extract<ProposerMsg, { type: 'nack' }>): void {
  s.log('debug', 'nack', { ballot: msg.ballot, promised: msg.promised, acceptor: msg.acceptor, leaseMs: msg.leaseMs, role: role.kind });
  s.round = Math.max(s.round, msg.promised.round);
  if (!sameBallot(msg.ballot, s.ballot) || role.kind === 'follower') return;
  if (role.kind === 'candidate' && msg.leaseMs > 0) return host.becomeFollower('another lease holds', msg.leaseMs + s.jitter(s.t.leaseMs));
  if (compareBallots(msg.promised, s.ballot) > 0) host.becomeFollower('higher ballot', s.t.heartbeatMs + s.jitter(s.t.leaseMs));
}

function heardLeader(s: ProposerState, host: RoleHost, role: RoleNow, msg: Extract<ProposerMsg, { type: 'leader' }>): void {
  if (s.leader && compareBallots(msg.ballot, s.leader.ballot) < 0) return;
  if (role.kind !== 'follower') {
    if (compareBallots(msg.ballot, s.ballot) <= 0) return;
    host.becomeFollower('another leader', 0);
  }
  s.leader = { ref: msg.leader, ballot: msg.ballot, heardAt: s.now };
  s.lostElections = 0;
  s.round = Math.max(s.round, msg.ballot.round);
  s.commitIndex = Math.max(s.commitIndex, msg.commitIndex);
  s.electionAt = s.now + s.t.leaseMs + s.t.driftMs + s.jitter(s.t.leaseMs);
}

function subscribe(s: ProposerState, role: RoleNow, subscriber: ActorRef<LeadershipEvent>): void {
  if (subscriber.node !== s.peers.self.node) return s.log('warn', 'subscriber refused: not on this node', { subscriber: subscriber.toString() });
  if (s.subscribers.length >= MAX_SUBSCRIBERS) return s.log('warn', 'subscriber refused: too many', { max: MAX_SUBSCRIBERS });
  if (!s.subscribers.some((x) => x.equals(subscriber))) s.subscribers.push(subscriber);
  if (role.kind === 'leader' && role.leaseUntil! > 0) s.send(subscriber, { type: 'leading', ballot: s.ballot, leaseUntil: role.leaseUntil! });
}
