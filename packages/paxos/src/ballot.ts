/**
 * A proposal number: (round, proposer id). Rounds order ballots; ids break ties, so two
 * proposers never use the same ballot.
 */
export interface Ballot {
  readonly round: number;
  readonly id: number;
}

export const ZERO_BALLOT: Ballot = { round: 0, id: -1 };

export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round !== b.round ? a.round - b.round : a.id - b.id;
}

export function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.id === b.id;
}

export function ballotString(b: Ballot): string {
  return `${b.round}.${b.id}`;
}

/**
 * Per slot, the value accepted at the highest ballot among the answers of acceptors, from slot
 * `from` on. Over a majority's answers this is the rule Paxos rests on: a value chosen at some
 * ballot is the one any later ballot finds here, so a new leader re-proposes it and a learner
 * reading a chosen slot back from the acceptors gets it.
 */
export function highestBallotPerSlot<V>(answers: Iterable<Iterable<readonly [slot: number, ballot: Ballot, value: V]>>, from = 0): Map<number, V> {
  const best = new Map<number, [Ballot, V]>();
  for (const accepted of answers) {
    for (const [slot, b, value] of accepted) {
      if (slot < from) continue;
      const cur = best.get(slot);
      if (!cur || compareBallots(b, cur[0]) > 0) best.set(slot, [b, value]);
    }
  }
  return new Map([...best].map(([slot, [, value]]) => [slot, value]));
}
