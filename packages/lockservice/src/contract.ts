/** The state-machine contract the database implements: the Paxos package's own. */
export type { ApplyMeta, ApplyOutcome, DomainError, StateMachine } from '@actorfs/paxos';
