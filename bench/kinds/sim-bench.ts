import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';

/** Passes tokens to a random peer: message deliveries dominate, as in a protocol under load. */
export type RelayMsg = { type: 'token'; hops: number } | { type: 'peers'; peers: ActorRef<RelayMsg>[] } | { type: 'tick' };

export const Relay = defineActor('bench.relay', (_p: Record<string, never>, ctx: ActorContext<RelayMsg>) => {
  let peers: ActorRef<RelayMsg>[] = [];
  return (msg: RelayMsg) => {
    switch (msg.type) {
      case 'peers':
        peers = msg.peers;
        ctx.setTimer('tick', 10, { type: 'tick' }, { repeat: true });
        return;
      case 'tick':
        return;
      case 'token':
        ctx.send(peers[Math.floor(ctx.random() * peers.length)]!, { type: 'token', hops: msg.hops + 1 });
        return;
    }
  };
});
