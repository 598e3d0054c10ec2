// The kinds a Paxos benchmark node needs: the Paxos actors and the key-value machine.
import '@actorfs/paxos';
