import type { ProposerInput, ProposerState, RoleHost } from './proposer-state.ts';

/** A follower: refuses proposals (naming the leader it heard of) and starts phase 1 once its election time comes. */
export class FollowerRole {
  readonly kind = 'follower';

  constructor(
    private readonly s: ProposerState,
    private readonly host: RoleHost & { startElection(): void },
  ) {}

  step(input: ProposerInput): void {
    switch (input.type) {
      case 'tick':
        if (this.s.now >= this.s.electionAt) this.host.startElection();
        return;
      case 'propose':
      case 'propose-batch':
        return this.s.refuseProposal(input);
      default:
        return this.host.stepAny(input);
    }
  }
}
