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
