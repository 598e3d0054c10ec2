// What every node of this cluster must import to spawn its part: the Paxos actor kinds
// (acceptor, proposer, learner) and the key-value state machine they replicate. Kinds cross
// threads by name, so each worker loads this module itself (ActorSystem.start's `modules`).
import '@actorfs/paxos';
