import { whileLooping } from '../after-turn.ts';
import type { AskOptions, SpawnOptions } from '../context.ts';
import type { DeadLetterReason } from '../errors.ts';
import type { ActorKind } from '../kind.ts';
import { LOG_LEVELS, textFields, type LogSink } from '../log.ts';
import { ActorNode } from '../node.ts';
import type { NodeEnv, Transport } from '../node-host.ts';
import { hashString, incarnationSeed, seededRandom, type Random } from '../random.ts';
import { ActorRef, type MessageOf, type ReplyOf } from '../ref.ts';
import { DEFAULT_DOMAIN, type StorageDomainOptions } from '../storage/domains.ts';
import { MemoryStore } from '../storage/memory-store.ts';
import { DriftingClocks, type ClockDriftOptions } from './clock-drift.ts';
import { EventQueue, type SimEvent } from './event-queue.ts';
import { FaultyDisk, type DiskFaults } from './faulty-disk.ts';
import { SimPools } from './sim-pools.ts';
import { copyAsSent, isRefusal, NOT_SERIALIZABLE } from './message-copy.ts';
import { linkKey, noFaults, resolveFaults, type LinkFaults, type ResolvedFaults } from './network.ts';

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

interface SimNode {
  name: string;
  node: ActorNode | undefined;
  /** Durable stores by storage domain, made on first use; they survive crashes. */
  stores: Map<string, MemoryStore>;
  incarnation: number;
  boot: ((node: ActorNode) => void) | undefined;
}

/** One directed link: its faults and whether it is cut, read again whenever the network's settings change. */
interface Link {
  readonly from: string;
  readonly to: string;
  readonly fromIndex: number;
  readonly toIndex: number;
  /** The settings version `faults` and `blocked` were read at. */
  version: number;
  faults: ResolvedFaults;
  blocked: boolean;
  /** When the last message on the link arrives (a FIFO link delivers none before it). */
  lastArrival: number;
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
  private base: ResolvedFaults;
  private readonly linkFaults = new Map<string, LinkFaults>();
  private readonly blocked = new Set<string>();
  /** Links by sender, then receiver; they outlive crashes (a FIFO link stays FIFO). */
  private readonly links = new Map<string, Map<string, Link>>();
  /** Bumped by every change of faults or partitions. */
  private settingsVersion = 0;
  private readonly fsyncMs: readonly [number, number];
  private readonly crashDetection: boolean;
  private readonly maxMessageBytes: number;
  private readonly logSink: LogSink;
  private traceA = 0x811c9dc5;
  private traceB = 0x01234567;
  private readonly idHashes = new Map<string, number>();
  /** Set when promise work may be pending: continuations then run before the next event. */
  private promised = false;
  private readonly markPromised = (): void => {
    this.promised = true;
  };
  private readonly nodeIndex = new Map<string, number>();
  private readonly simPools: SimPools;
  readonly dropped = { partition: 0, random: 0, nodeDown: 0 };
  readonly duplicated = { count: 0 };
  private readonly clocks: DriftingClocks | undefined;

  constructor(private readonly opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = seededRandom(opts.seed);
    this.base = resolveFaults(noFaults, opts.network);
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
    if (!store) {
      const fsync = (done: () => void): void =>
        void this.after(this.between(this.fsyncMs), () => {
          this.promised = true; // the commit's promise resolves: its callbacks must run
          done();
        });
      store = this.opts.disk ? new FaultyDisk(fsync, this.opts.disk, this.rng) : new MemoryStore(fsync);
      sn.stores.set(domain, store);
    }
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
    const clocks = sn.name === DRIVER ? undefined : this.clocks;
    // The node defers the same function every time (its next turn): one wrapper for it, not one per turn.
    let deferred: (() => void) | undefined;
    let deferredIfAlive = (): void => undefined;
    const env: NodeEnv = {
      now: () => (clocks ? clocks.read(sn.name, this.time) : this.time),
      setTimer: (fn, delayMs) =>
        this.after(clocks ? clocks.trueDelay(sn.name, this.time, delayMs) : delayMs, () => {
          if (!alive()) return;
          this.events++;
          this.record(3, this.nodeIndex.get(sn.name)!);
          fn();
        }),
      clearTimer: (h) => {
        (h as SimEvent).cancelled = true;
      },
      defer: (fn) => {
        if (fn !== deferred) {
          deferred = fn;
          deferredIfAlive = () => void (alive() && fn());
        }
        this.after(0, deferredIfAlive);
      },
      promised: () => {
        this.promised = true;
      },
    };
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
    this.base = resolveFaults(noFaults, faults);
    this.settingsVersion++;
  }

  /** Faults for the directed link from -> to (both directions unless oneWay). */
  setLink(from: string, to: string, faults: LinkFaults, oneWay = false): void {
    this.linkFaults.set(linkKey(from, to), faults);
    if (!oneWay) this.linkFaults.set(linkKey(to, from), faults);
    this.settingsVersion++;
  }

  /** Cuts every link between the groups (only a -> b when oneWay). Messages in flight are lost too. */
  partition(a: string[], b: string[], opts: { oneWay?: boolean } = {}): void {
    for (const x of a)
      for (const y of b) {
        this.blocked.add(linkKey(x, y));
        if (!opts.oneWay) this.blocked.add(linkKey(y, x));
      }
    this.settingsVersion++;
    this.record(4, hashString(`${a.join(',')}|${b.join(',')}|${opts.oneWay ? 1 : 0}`));
  }

  /** Isolates one node from every other. */
  isolate(name: string): void {
    this.partition([name], [...this.nodes.keys()].filter((n) => n !== name && n !== DRIVER));
  }

  /** Removes every partition (link fault settings stay). */
  heal(): void {
    this.blocked.clear();
    this.settingsVersion++;
    this.record(5, 0);
  }

  private faultsFor(from: string, to: string): ResolvedFaults {
    const own = this.linkFaults.get(linkKey(from, to));
    if (own) return resolveFaults(this.base, own);
    return from === DRIVER || to === DRIVER ? noFaults : this.base;
  }

  /** The links out of a node (made on first use). */
  private linksFrom(from: string): Map<string, Link> {
    let out = this.links.get(from);
    if (!out) this.links.set(from, (out = new Map()));
    return out;
  }

  /** The link from -> to with its current settings, or undefined when `to` is no node. */
  private link(out: Map<string, Link>, from: string, to: string): Link | undefined {
    let link = out.get(to);
    if (link === undefined) {
      const toIndex = this.nodeIndex.get(to);
      if (toIndex === undefined) return undefined;
      link = { from, to, fromIndex: this.nodeIndex.get(from)!, toIndex, version: -1, faults: noFaults, blocked: false, lastArrival: 0 };
      out.set(to, link);
    }
    return this.current(link);
  }

  private current(link: Link): Link {
    if (link.version !== this.settingsVersion) {
      link.version = this.settingsVersion;
      link.faults = this.faultsFor(link.from, link.to);
      link.blocked = this.blocked.has(linkKey(link.from, link.to));
    }
    return link;
  }

  private transportFor(from: string, alive: () => boolean): Transport {
    const out = this.linksFrom(from);
    return {
      send: (to: string, id: string, body: unknown, corr: number): DeadLetterReason | undefined => {
        if (!alive()) return undefined; // a ghost of a crashed incarnation: its sends vanish
        const link = this.link(out, from, to);
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
    if (link.blocked) {
      this.dropped.partition++;
      return;
    }
    const f = link.faults;
    if (f.drop > 0 && this.rng() < f.drop) {
      this.dropped.random++;
      return;
    }
    const copies = f.duplicate > 0 && this.rng() < f.duplicate ? 2 : 1;
    if (copies === 2) this.duplicated.count++;
    for (let c = 0; c < copies; c++) {
      let at = this.time + this.between(f.delayMs);
      if (!f.reorder) at = max(at, link.lastArrival);
      link.lastArrival = at;
      const body = c === 0 ? copy : copyAsSent(original, this.maxMessageBytes);
      this.queue.add(new Delivery(at, this.deliver, link, id, body, corr));
    }
  }

  /** A message arrives at the other end of its link (its Delivery event calls this). */
  private readonly deliver = (link: Link, id: string, body: unknown, corr: number): void => {
    if (this.current(link).blocked) {
      this.dropped.partition++;
      return;
    }
    const node = this.nodes.get(link.to)?.node;
    if (!node) {
      this.dropped.nodeDown++;
      return;
    }
    this.events++;
    this.record(6, link.fromIndex, link.toIndex, this.idHash(id), corr);
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
    return `${(this.traceA >>> 0).toString(16).padStart(8, '0')}${(this.traceB >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Folds one happening (a tag, the virtual time and a few numbers) into the trace digest. */
  private record(tag: number, a: number, b = 0, c = 0, d = 0): void {
    const t = this.time * 1000;
    let x = this.traceA;
    x = foldA(foldA(foldA(foldA(foldA(foldA(x, tag), t), a), b), c), d);
    let y = this.traceB;
    y = foldB(foldB(foldB(foldB(foldB(foldB(y, tag), t), a), b), c), d);
    this.traceA = x >>> 0;
    this.traceB = y >>> 0;
  }

  /** hashString(id) for the trace, remembered for the few ids a run addresses (forgotten all at once at the bound). */
  private idHash(id: string): number {
    let h = this.idHashes.get(id);
    if (h === undefined) {
      if (this.idHashes.size >= 10_000) this.idHashes.clear();
      this.idHashes.set(id, (h = hashString(id)));
    }
    return h;
  }
}

// Read once: under a vm context (jest's) every lookup of a global such as Math goes through the context's interceptors.
const { imul, max } = Math;

function foldA(x: number, v: number): number {
  return imul(x ^ (v | 0), 0x01000193) ^ ((v / 4294967296) | 0);
}

function foldB(y: number, v: number): number {
  return imul(y ^ ((v | 0) + 0x9e3779b9), 0x85ebca6b) ^ imul((v / 4294967296) | 0, 0xc2b2ae35);
}

/** A message in flight: the event and its payload in one object. */
class Delivery implements SimEvent {
  seq = 0;
  cancelled = false;
  constructor(
    readonly time: number,
    private readonly deliver: (link: Link, id: string, body: unknown, corr: number) => void,
    private readonly link: Link,
    private readonly id: string,
    private readonly body: unknown,
    private readonly corr: number,
  ) {}

  run(): void {
    this.deliver(this.link, this.id, this.body, this.corr);
  }
}

/** A few microtask hops: enough for the short promise chains the runtime itself creates. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 6; i++) await undefined;
}

function simLogSink(): LogSink {
  const level = process.env.SIM_LOG;
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') return () => {};
  const min = LOG_LEVELS[level];
  return (lvl, time, source, msg, fields) => {
    if (LOG_LEVELS[lvl] >= min) process.stderr.write(`[t=${time.toFixed(1)}] ${lvl} ${source}: ${msg}${textFields(fields)}\n`);
  };
}
