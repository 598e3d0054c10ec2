export { Acceptor, type AcceptorProps } from './acceptor.ts';
export { Proposer, type ProposerProps } from './proposer.ts';
export { Learner, type LearnerProps } from './learner.ts';
export { ballotString, compareBallots, type Ballot } from './ballot.ts';
export { timing, majority, type PaxosTiming } from './config.ts';
export type {
  AcceptorMsg,
  AcceptorView,
  AppliedEvents,
  BatchAnswer,
  BatchBounds,
  CloseSession,
  Command,
  LeadershipEvent,
  LearnerDigest,
  LearnerMsg,
  LearnerStatus,
  LearnerView,
  OpCommand,
  OpenSession,
  ProposeReply,
  ProposerMsg,
  ProposerStatus,
  RefusalCode,
  SessionReply,
  SlotValue,
} from './messages.ts';
export {
  defineStateMachine,
  makeStateMachine,
  type AnyMachineDef,
  type ApplyMeta,
  type ApplyOutcome,
  type DomainError,
  type EventOf,
  type MachineDef,
  type OpOf,
  type QueryOf,
  type QueryResultOf,
  type ResultOf,
  type StateMachine,
} from './state-machine.ts';
export { KvMachine, KV_MACHINE, type KvOp, type KvQuery } from './kv-machine.ts';
export {
  PaxosClient,
  PaxosDomainError,
  PaxosNoEffectError,
  PaxosOutcomeUnknownError,
  PaxosRefusedError,
  PaxosUnavailableError,
  type Asker,
  type ClientPosition,
  type LeaderInfo,
  type PaxosClientOptions,
  type RetryHandle,
} from './client.ts';
export type { TraceStage, TraceStamp } from './trace.ts';
export { planGroup, type ActorSpec, type GroupLayout, type GroupPlan, type GroupSpawner } from './topology.ts';
