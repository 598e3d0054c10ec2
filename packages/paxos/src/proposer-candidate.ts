import { sameBallot, type Ballot } from './ballot.ts';
import type { ProposerMsg, SlotValue } from './messages.ts';
import type { ProposerInput, ProposerState, RoleHost } from './proposer-state.ts';

type Accepted = Array<[number, Ballot, SlotValue]>;

/** A candidate's phase 1: prepares sent at its ballot, the promises so far. */
export class CandidateRole {
  readonly kind = 'candidate';
  /** Whole promises: every piece arrived. */
  readonly promises = new Map<number, Accepted>();
  /** Promises still arriving in pieces: the slots so far and the slot the next piece starts at. */
  private readonly partial = new Map<number, { accepted: Accepted; next: number }>();
  /** Every acceptor that promised has compacted the slots before this. */
  truncatedBefore = 0;
  private readonly sentAt: number;

  constructor(
    private readonly s: ProposerState,
    private readonly host: RoleHost & { becomeLeader(c: CandidateRole): void },
  ) {
    this.sentAt = s.now;
  }

  step(input: ProposerInput): void {
    switch (input.type) {
      case 'promise':
        return this.promised(input);
      case 'tick':
        return this.resend();
      case 'propose':
      case 'propose-batch':
        return this.s.refuseProposal(input);
      default:
        return this.host.stepAny(input);
    }
  }

  /** Resends to the silent; after a lease term without a majority, gives up (to try again higher). */
  private resend(): void {
    const s = this.s;
    if (s.now - this.sentAt > s.t.leaseMs) return this.host.becomeFollower('election timed out', s.jitter(s.t.leaseMs));
    const prepare = s.prepare();
    s.peers.acceptors.forEach((a, i) => {
      const part = this.partial.get(i);
      if (part) s.send(a, { type: 'prepare-more', ballot: s.ballot, fromSlot: part.next, proposer: s.peers.self });
      else if (!this.promises.has(i)) s.send(a, prepare);
    });
  }

  /** A piece of a promise: asks for the next, or counts the promise once it is whole. */
  private promised(msg: Extract<ProposerMsg, { type: 'promise' }>): void {
    const s = this.s;
    if (!sameBallot(msg.ballot, s.ballot) || this.promises.has(msg.acceptor)) return;
    const part = this.partial.get(msg.acceptor) ?? { accepted: [], next: s.commitIndex + 1 };
    // Pieces come in order; a duplicate or a late one (of an earlier prepare) is not the one wanted.
    if (this.partial.has(msg.acceptor) ? msg.from !== part.next : msg.from > part.next) return;
    part.accepted.push(...msg.accepted);
    this.truncatedBefore = Math.max(this.truncatedBefore, msg.truncatedBefore);
    if (msg.more) {
      part.next = (msg.accepted.at(-1)?.[0] ?? msg.from) + 1;
      this.partial.set(msg.acceptor, part);
      return s.send(s.peers.acceptors[msg.acceptor]!, { type: 'prepare-more', ballot: s.ballot, fromSlot: part.next, proposer: s.peers.self });
    }
    this.partial.delete(msg.acceptor);
    this.promises.set(msg.acceptor, part.accepted);
    if (this.promises.size >= s.quorum) this.host.becomeLeader(this);
  }
}
