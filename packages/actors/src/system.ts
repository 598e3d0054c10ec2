import { transfer, wrap, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { encode } from './codec.ts';
import type { AskOptions, SpawnOptions } from './context.ts';
import type { DeadLetter } from './dead-letters.ts';
import type { ActorKind } from './kind.ts';
import { defaultLogLevel, type LogLevel } from './log.ts';
import { ActorNode, type NodeOptions, type NodeStats } from './node.ts';
import { ActorRef, type AnyRef, type MessageOf, type ReplyOf } from './ref.ts';
import type { StorageDomainOptions } from './storage/domains.ts';
import type { NodeAdmin } from './thread/admin.ts';
import type { NodeConfig } from './thread/node-config.ts';
import { PortTransport } from './thread/port-transport.ts';
import { realEnv } from './thread/real-env.ts';
import { realNodeOptions } from './thread/real-node.ts';

export interface SystemOptions {
  /** Worker nodes to start: a count (named w1..wN) or names. Default 0. */
  workers?: number | string[];
  /** Modules that define actor kinds; main and every worker import them. */
  modules?: Array<string | URL>;
  /** Where nodes keep durable state. Default: a fresh temporary directory, removed at shutdown. */
  dataDir?: string;
  /** Seeds every actor's random(). Default: random. */
  seed?: number;
  /** Default 100,000 messages per actor; beyond it new messages go to dead letters. */
  mailboxCapacity?: number;
  /** Default 16 MiB. */
  maxMessageBytes?: number;
  defaultAskTimeoutMs?: number;
  logLevel?: LogLevel;
  /** Settings of named storage domains (each its own LMDB environment and group commit), on every node. */
  storageDomains?: Record<string, StorageDomainOptions>;
  /**
   * A module (file URL) whose default export is a StoreFactory: every node opens its storage
   * domains through it instead of LMDB. A module, not a function, because workers import it.
   */
  storeModule?: string | URL;
  /** A module (file URL) whose default export is a LogSinkFactory: every node's log lines go to its sink. */
  logSinkModule?: string | URL;
}

export interface SystemSpawnOptions extends SpawnOptions {
  /** Default 'main'. */
  node?: string;
}

interface WorkerNode {
  worker: Worker;
  admin: Remote<NodeAdmin>;
  alive: boolean;
  exited: Promise<void>;
}

const MAIN = 'main';

/**
 * The main thread's view of a system: a node of its own ('main') plus worker-thread nodes in a
 * full mesh of MessagePorts. Data flows between nodes directly; main manages workers through a
 * comlink control plane (spawn, stop, stats, start/kill/stop a node).
 */
export class ActorSystem {
  readonly main: ActorNode;
  private readonly transport: PortTransport;
  private readonly workers = new Map<string, WorkerNode>();
  private readonly downListeners: Array<(node: string) => void> = [];
  private readonly ownsDataDir: boolean;

  private constructor(
    readonly config: NodeConfig,
    ownsDataDir: boolean,
    mainOptions: NodeOptions,
  ) {
    this.ownsDataDir = ownsDataDir;
    this.main = new ActorNode(mainOptions);
    this.transport = new PortTransport(this.main, config.maxMessageBytes);
    this.main.transport = this.transport;
  }

  static async start(opts: SystemOptions = {}): Promise<ActorSystem> {
    const modules = (opts.modules ?? []).map((m) => m.toString());
    for (const m of modules) await import(m);
    const config: NodeConfig = {
      modules,
      dataDir: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'actors-')),
      seed: opts.seed ?? randomInt(2 ** 31),
      mailboxCapacity: opts.mailboxCapacity ?? 100_000,
      maxMessageBytes: opts.maxMessageBytes ?? 16 * 1024 * 1024,
      defaultAskTimeoutMs: opts.defaultAskTimeoutMs ?? 5_000,
      logLevel: opts.logLevel ?? defaultLogLevel(),
      storageDomains: opts.storageDomains ?? {},
      ...(opts.storeModule === undefined ? {} : { storeModule: opts.storeModule.toString() }),
      ...(opts.logSinkModule === undefined ? {} : { logSinkModule: opts.logSinkModule.toString() }),
    };
    const system = new ActorSystem(config, opts.dataDir === undefined, await realNodeOptions(MAIN, config));
    const w = opts.workers ?? 0;
    const names = typeof w === 'number' ? Array.from({ length: w }, (_, i) => `w${i + 1}`) : w;
    for (const name of names) await system.startNode(name);
    return system;
  }

  /** Live nodes, main first. */
  nodes(): string[] {
    return [MAIN, ...[...this.workers].filter(([, w]) => w.alive).map(([n]) => n)];
  }

  // ---- the data plane, from outside any actor ----

  tell<T>(ref: ActorRef<T>, msg: T): void {
    this.main.tell(ref, msg);
  }

  ask<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>> {
    return this.main.ask(ref, msg, opts?.timeoutMs) as Promise<ReplyOf<MessageOf<T, K>>>;
  }

  async spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: SystemSpawnOptions = {}): Promise<ActorRef<M>> {
    const { node = MAIN, ...rest } = opts;
    if (node === MAIN) return this.main.spawn(kind, props, rest);
    const id = await this.call(node, (a) => a.spawn(kind.name, encode(props), rest));
    return new ActorRef<M>(node, id);
  }

  async stop(ref: AnyRef): Promise<boolean> {
    if (ref.node === MAIN) return this.main.stopActor(ref.id);
    return this.call(ref.node, (a) => a.stop(ref.id));
  }

  async stats(node = MAIN): Promise<NodeStats> {
    if (node === MAIN) return this.main.stats();
    return this.call(node, (a) => a.stats());
  }

  /** Dead letters recorded on main (each worker counts its own in stats). */
  deadLetters(): DeadLetter[] {
    return this.main.deadLetters.recent();
  }

  /** Calls listener whenever a worker node dies or stops; returns a function that unsubscribes. */
  onNodeDown(listener: (node: string) => void): () => void {
    this.downListeners.push(listener);
    return () => {
      const i = this.downListeners.indexOf(listener);
      if (i >= 0) this.downListeners.splice(i, 1);
    };
  }

  // ---- nodes ----

  /** Starts a worker node (again, after it died or was stopped) and wires it to every live node. */
  async startNode(name: string): Promise<void> {
    if (name === MAIN) throw new Error('main is not a worker node');
    if (this.workers.get(name)?.alive) throw new Error(`node ${name} is already running`);
    const control = new MessageChannel();
    const worker = new Worker(new URL('./thread/bootstrap.mjs', import.meta.url), {
      workerData: { entry: new URL('./thread/worker-main.ts', import.meta.url).href, name, config: this.config, control: control.port2 },
      transferList: [control.port2],
    });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const handle: WorkerNode = { worker, admin: wrap<NodeAdmin>(nodeEndpoint(control.port1)), alive: true, exited };
    this.workers.set(name, handle);
    worker.on('error', (err) => this.main.logSink('error', realEnv.now(), name, 'node thread failed', { error: String(err) }));
    void exited.then(() => this.nodeExited(name, handle));
    await this.call(name, (a) => a.ping());
    // Wire the new node to main and to every other live worker.
    const toMain = new MessageChannel();
    this.transport.connect(name, toMain.port1);
    this.main.nodeUp(name);
    await this.call(name, (a) => a.connect(MAIN, transfer(toMain.port2, [toMain.port2])));
    for (const [peer, w] of this.workers) {
      if (peer === name || !w.alive) continue;
      const ch = new MessageChannel();
      await this.call(peer, (a) => a.connect(name, transfer(ch.port1, [ch.port1])));
      await this.call(name, (a) => a.connect(peer, transfer(ch.port2, [ch.port2])));
    }
  }

  /**
   * Abrupt: the thread ends as a crash would (no flush, no goodbye). It exits from inside, between
   * two tasks: Worker.terminate() landing while lmdb-js is inside a native write call aborts the
   * whole process (a fatal napi_throw), so terminate is kept for a thread that does not exit
   * within killGraceMs (one stuck in a loop, say).
   */
  async killNode(name: string, killGraceMs = 2_000): Promise<void> {
    const w = this.liveWorker(name);
    void w.admin.exit().catch(() => undefined);
    const stuck = setTimeout(() => void w.worker.terminate(), killGraceMs);
    await w.exited;
    clearTimeout(stuck);
  }

  /** Fault injection inside the thread: an uncaught exception kills it. */
  async crashNode(name: string, reason = 'test'): Promise<void> {
    const w = this.liveWorker(name);
    void w.admin.crash(reason);
    await w.exited;
  }

  /** Graceful: stops the node's actors, syncs its storage, then ends the thread. */
  async stopNode(name: string): Promise<void> {
    const w = this.liveWorker(name);
    await this.call(name, (a) => a.shutdown());
    await w.worker.terminate();
    await w.exited;
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.workers].filter(([, w]) => w.alive).map(([n]) => this.stopNode(n).catch(() => undefined)));
    await this.main.shutdown();
    this.transport.close();
    if (this.ownsDataDir) rmSync(this.config.dataDir, { recursive: true, force: true });
  }

  private liveWorker(name: string): WorkerNode {
    const w = this.workers.get(name);
    if (!w?.alive) throw new Error(`node ${name} is not running`);
    return w;
  }

  /** A control-plane call that fails (instead of hanging) if the node's thread dies meanwhile. */
  private async call<R>(name: string, fn: (admin: Remote<NodeAdmin>) => Promise<R> | R): Promise<R> {
    const w = this.liveWorker(name);
    const died = w.exited.then(() => {
      throw new Error(`node ${name} died during a control call`);
    });
    return Promise.race([fn(w.admin) as Promise<R>, died]);
  }

  private nodeExited(name: string, handle: WorkerNode): void {
    if (this.workers.get(name) !== handle) return;
    handle.alive = false;
    this.transport.disconnect(name);
    this.main.nodeDown(name);
    for (const w of this.workers.values()) if (w.alive) void w.admin.peerDown(name).catch(() => undefined);
    for (const l of [...this.downListeners]) l(name);
  }
}
