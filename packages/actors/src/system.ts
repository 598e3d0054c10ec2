import { transfer, wrap, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { encode } from './codec.ts';
import type { AskOptions, SpawnOptions } from './context.ts';
import type { DeadLetter } from './dead-letters.ts';
import type { ActorKind } from './kind.ts';
import { checkMs } from './checks.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { checkMessage } from './message-shape.ts';
import { ControlTimeoutError } from './errors.ts';
import { ActorNode } from './node.ts';
import type { NodeStats } from './node-host.ts';
import { ActorRef, type AnyRef, type MessageOf, type ReplyOf } from './ref.ts';
import type { NodeAdmin } from './thread/admin.ts';
import type { NodeConfig } from './thread/node-config.ts';
import { PortTransport } from './thread/port-transport.ts';
import { realEnv } from './thread/real-env.ts';
import { startRealNode } from './thread/real-node.ts';
import { checkNodeName, MAIN, resolveOptions, type SystemOptions } from './system-options.ts';
import { workerStart } from './thread/worker-start.ts';

export type { SystemOptions } from './system-options.ts';

/** A new thread loads tsx and every module before it answers: seconds on a loaded machine. */
const NODE_START_TIMEOUT_MS = 60_000;

export interface SystemSpawnOptions extends SpawnOptions {
  /** Default 'main'. */
  node?: string;
}

interface WorkerNode {
  worker: Worker;
  admin: Remote<NodeAdmin>;
  alive: boolean;
  exited: Promise<void>;
  /** Why the thread failed, if it reported an error before it exited. */
  error?: Error;
}

/** How a node ended: it stopped when asked, or its thread was terminated after the grace period. */
export type NodeEnding = 'graceful' | 'terminated';

/** What shutdown did to each worker node (main always stops gracefully). */
export interface ShutdownReport {
  graceful: string[];
  /** Nodes that did not stop within shutdownGraceMs (an actor in a long synchronous loop, say). */
  terminated: string[];
}

/**
 * The main thread's view of a system: a node of its own ('main') plus worker-thread nodes in a
 * full mesh of MessagePorts. Data flows between nodes directly; main manages workers through a
 * comlink control plane (spawn, stop, stats, start/kill/stop a node).
 */
export class ActorSystem {
  readonly main: ActorNode;
  private readonly transport: PortTransport;
  private readonly workers = new Map<string, WorkerNode>();
  /** How many times each worker node was started: its next start's incarnation. */
  private readonly starts = new Map<string, number>();
  private readonly downListeners: Array<(node: string) => void> = [];
  private closing = false;
  private shutdownDone: Promise<ShutdownReport> | undefined;

  private constructor(
    readonly config: NodeConfig,
    private readonly ownsDataDir: boolean,
    private readonly controlTimeoutMs: number,
    private readonly shutdownGraceMs: number,
    private readonly releaseDataDir: () => void,
    main: ActorNode,
  ) {
    this.main = main;
    this.transport = new PortTransport(this.main, config.maxMessageBytes);
    this.main.transport = this.transport;
  }

  /**
   * Checks every option before anything starts (a clear error naming the option), loads the
   * modules, takes the data directory, then starts the workers. If a worker fails to start, the
   * nodes already started are stopped and the directory released before the error is thrown.
   */
  static async start(opts: SystemOptions = {}): Promise<ActorSystem> {
    const resolved = resolveOptions(opts);
    for (const [i, m] of resolved.config.modules.entries()) {
      try {
        await import(m);
      } catch (err) {
        throw new Error(`option modules[${i}]: ${m} could not be imported: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    const dataDir = resolved.dataDir ?? mkdtempSync(join(tmpdir(), 'actors-'));
    let system: ActorSystem;
    let release: (() => void) | undefined;
    try {
      const config: NodeConfig = { ...resolved.config, dataDir };
      // The lock comes first: nothing opens the directory before it is ours.
      release = lockDataDir(dataDir);
      const main = await startRealNode(MAIN, config);
      system = new ActorSystem(config, resolved.dataDir === undefined, resolved.controlTimeoutMs, resolved.shutdownGraceMs, release, main);
    } catch (err) {
      release?.();
      if (resolved.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    try {
      for (const name of resolved.workers) await system.startNode(name);
    } catch (err) {
      await system.shutdown().catch(() => undefined); // the start's error is the one to report
      throw err;
    }
    return system;
  }

  /** Live nodes, main first. */
  nodes(): string[] {
    return [MAIN, ...[...this.workers].filter(([, w]) => w.alive).map(([n]) => n)];
  }

  // ---- the data plane, from outside any actor ----

  /** A message from outside the actors is checked against the whole rule, whichever node it goes to. */
  tell<T>(ref: ActorRef<T>, msg: T): void {
    checkMessage(msg);
    this.main.tell(ref, msg);
  }

  ask<T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions): Promise<ReplyOf<MessageOf<T, K>>> {
    return this.main.ask(ref, msg, opts?.timeoutMs) as Promise<ReplyOf<MessageOf<T, K>>>;
  }

  async spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: SystemSpawnOptions = {}): Promise<ActorRef<M>> {
    const { node = MAIN, ...rest } = opts;
    if (node === MAIN) return (await this.main.spawnStarted(kind as ActorKind<unknown, unknown>, props, rest)) as ActorRef<M>;
    const id = await this.call(node, 'spawn', (a) => a.spawn(kind.name, encode(props), rest));
    return new ActorRef<M>(node, id);
  }

  async stop(ref: AnyRef): Promise<boolean> {
    if (ref.node === MAIN) return this.main.stopActor(ref.id);
    return this.call(ref.node, 'stop', (a) => a.stop(ref.id));
  }

  async stats(node = MAIN): Promise<NodeStats> {
    if (node === MAIN) return this.main.stats();
    return this.call(node, 'stats', (a) => a.stats());
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
    checkNodeName(name, 'startNode');
    if (this.closing) throw new Error(`cannot start node ${name}: the system is shutting down`);
    if (this.workers.get(name)?.alive) throw new Error(`node ${name} is already running`);
    const control = new MessageChannel();
    const incarnation = this.starts.get(name) ?? 0;
    this.starts.set(name, incarnation + 1);
    const start = workerStart(this.config.modules, { name, config: this.config, control: control.port2, incarnation });
    const worker = new Worker(start.file, { ...start.options, transferList: [control.port2] });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const handle: WorkerNode = { worker, admin: wrap<NodeAdmin>(nodeEndpoint(control.port1)), alive: true, exited };
    this.workers.set(name, handle);
    worker.on('error', (err) => {
      handle.error = err;
      this.main.logSink('error', realEnv.now(), name, 'node thread failed', { error: err });
    });
    void exited.then(() => this.nodeExited(name, handle));
    await this.call(name, 'start', (a) => a.ping(), NODE_START_TIMEOUT_MS);
    // Wire the new node to main and to every other live worker.
    const toMain = new MessageChannel();
    this.transport.connect(name, toMain.port1);
    this.main.nodeUp(name);
    await this.call(name, 'connect', (a) => a.connect(MAIN, transfer(toMain.port2, [toMain.port2])));
    for (const [peer, w] of this.workers) {
      if (peer === name || !w.alive) continue;
      const ch = new MessageChannel();
      await this.call(peer, 'connect', (a) => a.connect(name, transfer(ch.port1, [ch.port1])));
      await this.call(name, 'connect', (a) => a.connect(peer, transfer(ch.port2, [ch.port2])));
    }
  }

  /**
   * Abrupt: the thread ends as a crash would (no flush, no goodbye). It exits from inside, between
   * two tasks: Worker.terminate() landing while lmdb-js is inside a native write call aborts the
   * whole process (a fatal napi_throw), so terminate is kept for a thread that does not exit
   * within killGraceMs (one stuck in a loop, say).
   */
  async killNode(name: string, killGraceMs = 2_000): Promise<void> {
    checkMs('killNode: killGraceMs', killGraceMs, true);
    const w = this.liveWorker(name);
    void w.admin.exit().catch(() => undefined);
    await this.endWithin(name, w, killGraceMs);
  }

  /**
   * Fault injection inside the thread: an uncaught exception kills it. A thread too busy to take
   * the request within controlTimeoutMs is terminated instead (a warning says so).
   */
  async crashNode(name: string, reason = 'test'): Promise<void> {
    const w = this.liveWorker(name);
    void w.admin.crash(reason).catch(() => undefined);
    await this.endWithin(name, w, this.controlTimeoutMs);
  }

  /**
   * Graceful: stops the node's actors, syncs its storage, then ends the thread. A node that has
   * not done so within shutdownGraceMs (an actor stuck in a synchronous loop holds its thread) is
   * terminated: the result says which, and a warning is logged.
   */
  async stopNode(name: string): Promise<NodeEnding> {
    const w = this.liveWorker(name);
    let ending: NodeEnding = 'graceful';
    try {
      await this.call(name, 'stopNode', (a) => a.shutdown(), this.shutdownGraceMs);
    } catch (err) {
      if (!(err instanceof ControlTimeoutError)) throw err;
      ending = 'terminated';
      this.main.logSink('warn', realEnv.now(), name, `did not stop within ${this.shutdownGraceMs} ms; its thread is terminated`);
    }
    await w.worker.terminate();
    await w.exited;
    return ending;
  }

  /**
   * Stops every node (workers first, each within shutdownGraceMs, else terminated), fails the
   * asks still pending on main, and releases the data directory. Always ends; the report names
   * the nodes that had to be terminated (each is also logged as a warning).
   */
  shutdown(): Promise<ShutdownReport> {
    return (this.shutdownDone ??= this.stopEverything());
  }

  private async stopEverything(): Promise<ShutdownReport> {
    this.closing = true;
    const report: ShutdownReport = { graceful: [], terminated: [] };
    const live = [...this.workers].filter(([, w]) => w.alive).map(([n]) => n);
    await Promise.all(
      live.map(async (n) => {
        const ending = await this.stopNode(n).catch(() => 'terminated' as const);
        report[ending].push(n);
      }),
    );
    await this.main.shutdown();
    this.transport.close();
    this.releaseDataDir();
    if (this.ownsDataDir) rmSync(this.config.dataDir, { recursive: true, force: true });
    return report;
  }

  private liveWorker(name: string): WorkerNode {
    const w = this.workers.get(name);
    if (!w?.alive) throw new Error(`node ${name} is not running`);
    return w;
  }

  /** Waits for a thread to exit; terminates it if it has not within ms. */
  private async endWithin(name: string, w: WorkerNode, ms: number): Promise<void> {
    const stuck = setTimeout(() => {
      this.main.logSink('warn', realEnv.now(), name, `did not exit within ${ms} ms; its thread is terminated`);
      void w.worker.terminate();
    }, ms);
    await w.exited;
    clearTimeout(stuck);
  }

  /**
   * A control-plane call with a deadline: it fails with ControlTimeoutError naming the node if the
   * node does not answer in time (a busy actor holds its thread), and at once if the node's
   * thread dies meanwhile.
   */
  private async call<R>(name: string, what: string, fn: (admin: Remote<NodeAdmin>) => Promise<R> | R, timeoutMs = this.controlTimeoutMs): Promise<R> {
    const w = this.liveWorker(name);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ControlTimeoutError(name, what, timeoutMs)), timeoutMs);
    });
    const died = w.exited.then(() => {
      throw new Error(`node ${name} died during ${what}${w.error ? `: ${w.error.message}` : ''}`);
    });
    try {
      return await Promise.race([fn(w.admin) as Promise<R>, died, late]);
    } finally {
      clearTimeout(timer);
    }
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
