import { sameBallot, type Ballot } from './ballot.ts';
import type { ActorRef } from '@actorfs/actors';
import type { LearnerMsg, SlotAnswer, SlotValue } from './messages.ts';

/**
 * Slots whose clients an acceptor is to answer, kept until it is told chosen-once-durable; beyond
 * this many the oldest is dropped (its clients time out and retry, and their session answers them).
 */
const MAX_ANSWERS = 1024;

/**
 * An acceptor's part in fast answers. The leader names one acceptor of a slot's majority, the one
 * likely to sync last, to answer the slot's clients: told that the rest of the majority has its
 * accepts on disk, it hands the slot to the learner on its node once its own accept is durable, a
 * hop before the leader could.
 */
export class SlotAnswers {
  private readonly kept = new Map<number, { ballot: Ballot; value: SlotValue; answer: SlotAnswer }>();

  /** Keeps an accepted slot's answer (a newer accept of the slot replaces it). */
  keep(slot: number, ballot: Ballot, value: SlotValue, answer: SlotAnswer): void {
    this.kept.delete(slot);
    this.kept.set(slot, { ballot, value, answer });
    if (this.kept.size > MAX_ANSWERS) this.kept.delete(this.kept.keys().next().value!);
  }

  /** The commit for the answering learner, if this acceptor accepted (slot, ballot) with an answer; forgets it. */
  take(slot: number, ballot: Ballot): { learner: ActorRef<LearnerMsg>; commit: Extract<LearnerMsg, { type: 'commit' }> } | undefined {
    const a = this.kept.get(slot);
    if (!a || !sameBallot(a.ballot, ballot)) return undefined;
    this.kept.delete(slot);
    return { learner: a.answer.learner, commit: { type: 'commit', slot, value: a.value, handles: a.answer.handles } };
  }
}
