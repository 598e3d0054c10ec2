import type { MessagePort } from 'node:worker_threads';
import { decode } from '../codec.ts';
import type { SpawnOptions } from '../context.ts';
import type { ActorNode } from '../node.ts';
import type { NodeStats } from '../node-host.ts';
import type { PortTransport } from './port-transport.ts';

/**
 * The control plane of a worker node, called from main through comlink. Data-plane messages never
 * pass here; these calls are rare (spawn, stop, stats, wiring, faults).
 */
export interface NodeAdmin {
  ping(): string;
  /** props are codec-encoded (refs inside survive); returns the new actor's id once its setup is done. */
  spawn(kind: string, props: Uint8Array, opts: SpawnOptions): Promise<string>;
  stop(id: string): boolean;
  stats(): NodeStats;
  actorIds(): string[];
  connect(peer: string, port: MessagePort): void;
  peerDown(peer: string): void;
  peerUp(peer: string): void;
  /** Stops all actors, syncs and closes storage; main then ends the thread. */
  shutdown(): Promise<void>;
  /** Fault injection: an uncaught exception in the node's event loop kills its thread. */
  crash(reason: string): void;
  /** Fault injection: the thread exits at once, between two tasks (no flush, no goodbye). */
  exit(): void;
}

export function makeAdmin(node: ActorNode, transport: PortTransport): NodeAdmin {
  return {
    ping: () => node.name,
    spawn: async (kind, props, opts) => (await node.spawnStarted(kind, decode(props), opts)).id,
    stop: (id) => node.stopActor(id),
    stats: () => node.stats(),
    actorIds: () => node.actorIds(),
    connect: (peer, port) => {
      transport.connect(peer, port);
      node.nodeUp(peer);
    },
    peerDown: (peer) => {
      transport.disconnect(peer);
      node.nodeDown(peer);
    },
    peerUp: (peer) => node.nodeUp(peer),
    shutdown: async () => {
      await node.shutdown();
      transport.close();
    },
    crash: (reason) => {
      setImmediate(() => {
        throw new Error(`injected crash: ${reason}`);
      });
    },
    exit: () => {
      setImmediate(() => process.exit(1));
    },
  };
}
