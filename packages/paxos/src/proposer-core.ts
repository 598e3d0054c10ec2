import type { ActorRef } from '@actorfs/actors';
import type { PaxosTiming } from './config.ts';
import type { ProposerStatus } from './messages.ts';
import { stepAnyRole } from './proposer-any-role.ts';
import { CandidateRole } from './proposer-candidate.ts';
import { FollowerRole } from './proposer-follower.ts';
import { LeaderRole } from './proposer-leader.ts';
import { ProposerState, type ProposerEffect, type ProposerInput, type ProposerPeers, type RoleHost } from './proposer-state.ts';

export type { ProposerEffect, ProposerInput, ProposerPeers } from './proposer-state.ts';

type Role = FollowerRole | CandidateRole | LeaderRole;

/** A candidate that lost this many elections in a row warns why (and again every this many). */
const LOST_ELECTIONS_WARN = 5;

/**
 * The proposer's protocol as a pure state machine, in the style of etcd's raft: `step(input, now)`
 * returns effects (messages, storage writes, replies, timers) and does no I/O; the Proposer actor
 * carries them out, and another actor can host a core of its own. The core dispatches each input
 * to its role (FollowerRole, CandidateRole, LeaderRole) and changes roles; stepAnyRole handles what
 * every role hears alike, and ProposerState holds what the roles share and the rules they apply alike.
 *
 * A leader wins phase 1 once for every slot from its first open one on, then runs only phase 2
 * (see LeaderRole). Followers wait out the lease (plus a drift margin and a random backoff) before
 * phase 1.
 */
export class ProposerCore implements RoleHost {
  private readonly s: ProposerState;
  private role: Role;

  constructor(peers: ProposerPeers, t: PaxosTiming, random: () => number, state: { round: number; now: number }) {
    this.s = new ProposerState(peers, t, random, state);
    this.role = new FollowerRole(this.s, this);
  }

  step(input: ProposerInput, now: number): ProposerEffect[] {
    this.s.now = now;
    this.s.out = [];
    this.role.step(input);
    return this.s.out;
  }

  status(now: number): ProposerStatus {
    const r = this.role;
    const s = this.s;
    const l = r.kind === 'leader' ? r : undefined;
    return {
      id: s.peers.id,
      role: r.kind,
      ballot: s.ballot,
      leaseValid: l !== undefined && now < l.leaseUntil,
      leaseRemainingMs: l ? Math.max(0, l.leaseUntil - now) : 0,
      nextSlot: l ? l.nextSlot : s.commitIndex + 1,
      commitIndex: s.commitIndex,
      inflight: l ? l.inflight.size : 0,
      queued: l ? l.queue.length : 0,
    };
  }

  /** Messages every role handles alike, and those a role ignores (see proposer-any-role). */
  stepAny(input: ProposerInput): void {
    stepAnyRole(this.s, this, this.role, input);
  }

  // ---- roles change ----

  becomeFollower(reason: string, waitMs: number): void {
    const r = this.role;
    if (r.kind === 'leader') r.stepDown(reason);
    else if (r.kind === 'candidate') this.lostElection(reason);
    else this.s.log('debug', 'follower', { reason, waitMs });
    this.role = new FollowerRole(this.s, this);
    this.s.electionAt = this.s.now + waitMs;
  }

  becomeLeader(c: CandidateRole): void {
    const l = new LeaderRole(this.s, this, c.promises.values(), c.truncatedBefore);
    this.role = l;
    l.start();
  }

  startElection(): void {
    const s = this.s;
    s.round = Math.max(s.round, s.leader?.ballot.round ?? 0) + 1;
    s.ballot = { round: s.round, id: s.peers.id };
    s.out.push({ type: 'persist', key: 'round', value: s.round });
    this.role = new CandidateRole(s, this);
    s.log('debug', 'starting election', { ballot: s.ballot });
    // The round is on disk before any acceptor hears of it.
    const prepare = s.prepare();
    for (const a of s.peers.acceptors) s.out.push({ type: 'send-durable', to: a as ActorRef<never>, msg: prepare });
  }

  /**
   * A candidate that keeps losing says why, once it has lost LOST_ELECTIONS_WARN in a row and
   * again every so often: a lease too short for a round trip plus a synced commit makes every
   * candidate time out before its promises arrive, and the group never elects anyone.
   */
  private lostElection(reason: string): void {
    const s = this.s;
    s.lostElections++;
    const n = s.lostElections;
    if (n < LOST_ELECTIONS_WARN || n % LOST_ELECTIONS_WARN !== 0) return s.log('debug', 'lost an election', { reason, ballot: s.ballot });
    const why =
      reason === 'election timed out'
        ? `no majority of promises arrived within the lease (${s.t.leaseMs} ms): are a majority of acceptors reachable, and is leaseMs longer than a round trip plus a synced commit?`
        : `outbid (${reason}): another proposer holds a lease or a higher ballot`;
    s.log('warn', `lost ${n} elections in a row: ${why}`, { reason, ballot: s.ballot });
  }
}
