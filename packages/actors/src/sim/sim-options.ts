import type { ActorNode } from '../node.ts';
import type { LogSink } from '../log.ts';
import type { ActorRef } from '../ref.ts';
import type { StorageDomainOptions } from '../storage/domains.ts';
import type { ClockDriftOptions } from './clock-drift.ts';
import type { DiskFaults } from './faulty-disk.ts';
import type { LinkFaults } from './network.ts';

export interface SimOptions {
  seed: number;
  /** Nodes to add at the start (each can also be added later with addNode). */
  nodes?: string[];
  /** Faults on every link unless a link has its own (setLink). */
  network?: LinkFaults;
  /** How long a durable commit takes to sync, in virtual ms. Default [1, 3]. */
  fsyncMs?: readonly [number, number];
  /** Faults of every node's disks (flipped bytes, failed reads and commits), drawn from the seed. Default none. */
  disk?: DiskFaults;
  /** Tell the other nodes at once when a node crashes, as the thread runtime does. Default false: a crashed node just goes silent. */
  crashDetection?: boolean;
  mailboxCapacity?: number;
  /** Settings of named storage domains (as in SystemOptions); each domain is its own simulated disk. */
  storageDomains?: Record<string, StorageDomainOptions>;
  maxMessageBytes?: number;
  defaultAskTimeoutMs?: number;
  /** What one Pool task costs, in virtual ms (drawn from the seed). Default [1, 5]. */
  poolTaskMs?: readonly [number, number];
  /** Log lines from actors (default: dropped unless SIM_LOG names a level). */
  logSink?: LogSink;
  /**
   * Sees every message one node sends to another, before the network's faults act on it (in-node
   * messages do not cross the network and are not seen). A test oracle's window on the whole run,
   * such as every value a Paxos leader announced as chosen; it must not change what it sees.
   */
  onSend?: (send: SimSend) => void;
  /** Node clocks that drift within a bound (see DriftingClocks); default: every node reads true time. */
  clocks?: ClockDriftOptions;
}

/** One message sent across the simulated network. */
export interface SimSend {
  readonly time: number;
  readonly from: string;
  readonly to: ActorRef<unknown>;
  readonly body: unknown;
}

export interface SimNodeOptions {
  /** Runs at every (re)start of the node: spawn its actors here, and they reload their storage. */
  boot?: (node: ActorNode) => void;
}
