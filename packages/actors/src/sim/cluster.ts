import { whileLooping } from '../after-turn.ts';
import type { AskOptions, SpawnOptions } from '../context.ts';
import type { DeadLetterReason } from '../errors.ts';
import type { ActorKind } from '../kind.ts';
import type { LogSink } from '../log.ts';
import { ActorNode } from '../node.ts';
import type { Transport } from '../node-host.ts';
import { hashString, incarnationSeed, seededRandom, type Random } from '../random.ts';
import { ActorRef, type MessageOf, type ReplyOf } from '../ref.ts';
import { DEFAULT_DOMAIN } from '../storage/domains.ts';
import { MemoryStore } from '../storage/memory-store.ts';
import { DriftingClocks } from './clock-drift.ts';
import { EventQueue, type SimEvent } from './event-queue.ts';
import { copyAsSent, isRefusal, NOT_SERIALIZABLE } from './message-copy.ts';
import { Delivery, SimLinks, type Link, type LinkFaults } from './network.ts';
import { simNodeEnv, simStore, type SimEnvHost } from './sim-env.ts';
import { simLogSink } from './sim-log.ts';
import type { SimNodeOptions, SimOptions } from './sim-options.ts';
import { SimPools } from './sim-pools.ts';
import { TraceDigest } from './trace-digest.ts';

interface SimNode {
  name: string;
  node: ActorNode | undefined;
  /** Durable stores by storage domain, made on first use; they survive crashes. */
  stores: Map<string, MemoryStore>;
  incarnation: number;
  boot: ((node: ActorNode) => void) | undefined;
}

/** The node that test code acts from (sim.tell / sim.ask); it never crashes and its links are reliable unless set. */
const DRIVER = 'sim';

/**
 * Runs the actors of many nodes in one thread under a seeded scheduler, a virtual clock and a
 * simulated network that can drop, duplicate, delay, reorder and partition, with node crashes
 * and restarts in which what was not committed to storage is lost. The nodes are the same
 * ActorNode class the thread runtime uses; only their env and transport are simulated. Every
 * choice comes from one PRNG seeded by `seed`, so a seed replays its run exactly.
 */
export class SimCluster {
  readonly seed: number;
  /** Message deliveries plus timer firings so far. */
  events = 0;
  private time = 0;
  private readonly queue = new EventQueue();
  private readonly rng: Random;
  private readonly nodes = new Map<string, SimNode>();
  private readonly links: SimLinks;
  private readonly fsyncMs: readonly [number, number];
  private readonly crashDetection: boolean;
  private readonly maxMessageBytes: number;
  private readonly logSink: LogSink;
  private readonly trace = new TraceDigest();
  /** Set when promise work may be pending: continuations then run before the next event. */
  private promised = false;
  private readonly markPromised = (): void => {
    this.promised = true;
  };
  private readonly nodeIndex = new Map<string, number>();
  private readonly simPools: SimPools;
  /** Messages lost: on a cut link, by the link's drop rate, or to a node that is down. */
  readonly dropped: SimLinks['dropped'];
  readonly duplicated: SimLinks['duplicated'];
  private readonly clocks: DriftingClocks | undefined;
  private readonly envHost: SimEnvHost = {
    time: () => this.time,
    after: (delayMs, run) => this.after(delayMs, run),
    timerFired: (node) => {
      this.events++;
      this.record(3, this.nodeIndex.get(node)!);
    },
    promised: this.markPromised,
  };

  constructor(private readonly opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = seededRandom(opts.seed);
    this.links = new SimLinks(opts.network, DRIVER, (node) => this.nodeIndex.get(node));
    this.dropped = this.links.dropped;
    this.duplicated = this.links.duplicated;
    this.fsyncMs = opts.fsyncMs ?? [1, 3];
    this.crashDetection = opts.crashDetection ?? false;
    this.maxMessageBytes = opts.maxMessageBytes ?? 16 * 1024 * 1024;
    this.logSink = opts.logSink ?? simLogSink();
    const poolTaskMs = opts.poolTaskMs ?? [1, 5];
    this.simPools = new SimPools({
      afterTaskCost: (fn) => void this.after(this.between(poolTaskMs), fn),
      promised: () => {
        this.promised = true;
      },
    });
    this.clocks = opts.clocks && new DriftingClocks(opts.clocks, opts.seed);
    this.addNode(DRIVER);
    for (const n of opts.nodes ?? []) this.addNode(n);
  }

  now(): number {
    return this.time;
  }

  // ---- nodes ----

  addNode(name: string, opts: SimNodeOptions = {}): ActorNode {
    if (this.nodes.has(name)) throw new Error(`node ${name} already exists`);
    const sn: SimNode = { name, node: undefined, stores: new Map(), incarnation: 0, boot: opts.boot };
    this.nodes.set(name, sn);
    this.nodeIndex.set(name, this.nodeIndex.size);
    return this.boot(sn);
  }

  /** The live node called name. */
  node(name: string): ActorNode {
    const n = this.nodes.get(name)?.node;
    if (!n) throw new Error(`node ${name} is ${this.nodes.has(name) ? 'down' : 'unknown'}`);
    return n;
  }

  isUp(name: string): boolean {
    return this.nodes.get(name)?.node !== undefined;
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()].filter((n) => n !== DRIVER);
  }

  /** A storage domain's durable store on a node (it survives crashes). */
  store(name: string, domain = DEFAULT_DOMAIN): MemoryStore {
    const sn = this.nodes.get(name);
    if (!sn) throw new Error(`unknown node ${name}`);
    return this.storeOf(sn, domain);
  }

  private storeOf(sn: SimNode, domain: string): MemoryStore {
    let store = sn.stores.get(domain);
    if (!store) sn.stores.set(domain, (store = simStore(this.envHost, () => this.between(this.fsyncMs), this.opts.disk, this.rng)));
    return store;
  }

  /** The node loses its memory, its mailboxes, its timers and every commit not yet synced. */
  crash(name: string): void {
    const sn = this.nodes.get(name);
    if (!sn?.node || name === DRIVER) throw new Error(`cannot crash ${name}`);
    sn.node = undefined;
    sn.incarnation++;
    for (const store of sn.stores.values()) store.crash();
    this.record(1, this.nodeIndex.get(name)!);
    if (this.crashDetection) for (const other of this.nodes.values()) other.node?.nodeDown(name);
  }

  /** Starts a crashed node again: a new incarnation over the same durable store, then its boot. */
  restart(name: string): ActorNode {
    const sn = this.nodes.get(name);
    if (!sn || sn.node) throw new Error(`cannot restart ${name}: ${sn ? 'it is running' : 'unknown node'}`);
    this.record(2, this.nodeIndex.get(name)!);
    for (const other of this.nodes.values()) other.node?.nodeUp(name);
    return this.boot(sn);
  }

  private boot(sn: SimNode): ActorNode {
    const inc = sn.incarnation;
    const alive = (): boolean => sn.incarnation === inc;
    const env = simNodeEnv(this.envHost, sn.name, sn.name === DRIVER ? undefined : this.clocks, alive);
    const node = new ActorNode({
      name: sn.name,
      env,
      seed: incarnationSeed(hashString(sn.name, this.seed), inc),
      logSink: this.logSink,
      openStore: (domain) => this.storeOf(sn, domain),
      taskPools: this.simPools.pools,
      ...(this.opts.storageDomains === undefined ? {} : { storageDomains: this.opts.storageDomains }),
      ...(this.opts.mailboxCapacity === undefined ? {} : { mailboxCapacity: this.opts.mailboxCapacity }),
      ...(this.opts.defaultAskTimeoutMs === undefined ? {} : { defaultAskTimeoutMs: this.opts.defaultAskTimeoutMs }),
    });
    node.transport = this.transportFor(sn.name, alive);
    sn.node = node;
    sn.boot?.(node);
    return node;
  }

  // ---- the network ----

  /** Faults for every link without its own settings. */
  setNetwork(faults: LinkFaults): void {
    this.links.setDefault(faults);
  }

  /** Faults for the directed link from -> to (both directions unless oneWay). */
  setLink(from: string, to: string, faults: LinkFaults, oneWay = false): void {
    this.links.setLink(from, to, faults, oneWay);
  }

  /** Cuts every link between the groups (only a -> b when oneWay). Messages in flight are lost too. */
  partition(a: string[], b: string[], opts: { oneWay?: boolean } = {}): void {
    this.links.cut(a, b, opts.oneWay ?? false);
    this.record(4, hashString(`${a.join(',')}|${b.join(',')}|${opts.oneWay ? 1 : 0}`));
  }

  /** Isolates one node from every other. */
  isolate(name: string): void {
    this.partition([name], [...this.nodes.keys()].filter((n) => n !== name && n !== DRIVER));
  }

  /** Removes every partition (link fault settings stay). */
  heal(): void {
    this.links.heal();
    this.record(5, 0);
  }

  private transportFor(from: string, alive: () => boolean): Transport {
    const out = this.links.from(from);
    return {
      send: (to: string, id: string, body: unknown, corr: number): DeadLetterReason | undefined => {
        if (!alive()) return undefined; // a ghost of a crashed incarnation: its sends vanish
        const link = this.links.link(out, from, to);
        if (link === undefined) return 'unknown-node';
        // The receiver gets a deep copy, as across threads: nothing is shared, and what the
        // codec cannot carry fails here as it would there.
        const copy = copyAsSent(body, this.maxMessageBytes);
        if (isRefusal(copy)) return copy === NOT_SERIALIZABLE ? 'not-serializable' : 'oversize';
        // Replies (corr < 0) and system messages are the runtime's, not an actor's.
        if (this.opts.onSend && corr >= 0 && id !== '$sys') this.opts.onSend({ time: this.time, from, to: new ActorRef(to, id), body: copy });
        this.transmit(link, id, copy, body, corr);
        return undefined;
      },
    };
  }

  private transmit(link: Link, id: string, copy: unknown, original: unknown, corr: number): void {
    const copies = this.links.send(link, this.time, this.rng);
    for (let c = 0; c < copies; c++) {
      const body = c === 0 ? copy : copyAsSent(original, this.maxMessageBytes);
      this.queue.add(new Delivery(this.links.arrivals[c]!, this.deliver, link, id, body, corr));
    }
  }

  /** A message arrives at the other end of its link (its Delivery event calls this). */
  private readonly deliver = (link: Link, id: string, body: unknown, corr: number): void => {
    if (this.links.current(link).blocked) {
      this.links.dropped.partition++;
      return;
    }
    const node = this.nodes.get(link.to)?.node;
    if (!node) {
      this.links.dropped.nodeDown++;
      return;
    }
    this.events++;
    this.record(6, link.fromIndex, link.toIndex, this.trace.idHash(id), corr);
    node.receiveRemote(link.from, id, body, corr);
    node.drain();
  };

  // ---- acting from outside ----

  spawn<P, M>(node: string, kind: ActorKind<P, M>, props: P, opts?: SpawnOptions): ActorRef<M> {
    return this.node(node).spawn(kind, props, opts);
  }

  tell<T>(ref: ActorRef<T>, msg: T): void {
    this.node(DRIVER).tell(ref, msg);
  }

  /** An ask from outside; the answer arrives while the simulation runs. */
  ask<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>> {
    return this.node(DRIVER).ask(ref, msg, opts?.timeoutMs) as Promise<ReplyOf<MessageOf<T, K>>>;
  }

  /** Asks and runs the simulation until the answer (or the ask's virtual timeout) arrives. */
  async call<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>> {
    let settled = false;
    const p = this.ask(ref, msg, opts).finally(() => {
      settled = true;
    });
    await this.runUntil(() => settled, { maxMs: (opts?.timeoutMs ?? this.opts.defaultAskTimeoutMs ?? 5_000) + 1 });
    return p;
  }

  // ---- running ----

  /** Runs every event due in the next `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    const end = this.time + ms;
    await this.loop(end, undefined);
    this.time = Math.max(this.time, end);
  }

  /** Runs until pred holds (checked after every event); false if maxMs of virtual time pass first. */
  async runUntil(pred: () => boolean, opts: { maxMs?: number } = {}): Promise<boolean> {
    return this.loop(this.time + (opts.maxMs ?? 60_000), pred);
  }

  private async loop(deadline: number, pred: (() => boolean) | undefined): Promise<boolean> {
    const stopLooping = whileLooping(this.markPromised);
    try {
      return await this.runEvents(deadline, pred);
    } finally {
      stopLooping();
    }
  }

  private async runEvents(deadline: number, pred: (() => boolean) | undefined): Promise<boolean> {
    let sinceYield = 0;
    for (;;) {
      if (pred?.()) return true;
      if (this.simPools.busy) await this.simPools.loaded();
      const ev = this.queue.peek();
      if (ev === undefined || ev.time > deadline) {
        // Settle promise chains that may schedule more work before concluding.
        await settleMicrotasks();
        if (this.simPools.busy) continue;
        const next = this.queue.peek();
        if (next !== undefined && next.time <= deadline) continue;
        return pred?.() ?? false;
      }
      this.queue.pop();
      if (ev.cancelled) continue;
      this.time = ev.time;
      ev.run();
      // Promise continuations (async receives, replies, commit callbacks) run here, at the same
      // point of every replay; an occasional real yield keeps the host's event loop alive.
      for (let round = 0; this.promised && round < 4; round++) {
        this.promised = false;
        await settleMicrotasks();
      }
      if (++sinceYield >= 5_000) {
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  private after(delayMs: number, run: () => void): SimEvent {
    return this.queue.push(this.time + max(0, delayMs), run);
  }

  private between([lo, hi]: readonly [number, number]): number {
    return lo === hi ? lo : lo + this.rng() * (hi - lo);
  }

  /** A digest of everything that happened, in order: equal for equal seeds. */
  traceHash(): string {
    return this.trace.hex();
  }

  /** Folds one happening (a tag, the virtual time and a few numbers) into the trace digest. */
  private record(tag: number, a: number, b = 0, c = 0, d = 0): void {
    this.trace.record(tag, this.time, a, b, c, d);
  }
}

// Read once: under a vm context (jest's) every lookup of a global such as Math goes through the context's interceptors.
const { max } = Math;

/** A few microtask hops: enough for the short promise chains the runtime itself creates. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 6; i++) await undefined;
}
