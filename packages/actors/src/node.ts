import { enterTurn, leaveTurn } from './after-turn.ts';
import { ActorCell, isPromise, replyHandleOf, type Meta } from './cell.ts';
import { checkSpawnOptions } from './checks.ts';
import type { SpawnOptions } from './context.ts';
import { DeliveryError, type StorageCommitError } from './errors.ts';
import { lookupKind, type ActorKind } from './kind.ts';
import type { NodeOptions, NodeStats } from './node-host.ts';
import { MessageRouting } from './node-routing.ts';
import { nodeStats } from './node-stats.ts';
import { ActorRef, refKey, type AnyRef } from './ref.ts';
import { DEFAULT_DOMAIN } from './storage/domains.ts';
import { NodeDomains } from './storage/node-domains.ts';
import type { NodeStorage } from './storage/node-storage.ts';
import { NodeStreams, StreamCredit } from './streams.ts';
import { superviseFailure } from './supervise.ts';
import { defaultStrategy } from './supervision.ts';
import type { TaskPools } from './tasks/task-pool.ts';
import { Watches } from './watches.ts';

/**
 * One actor system on one thread: its actors, a fair scheduler, local and remote routing, asks,
 * watches, supervision and group-committed storage. The same class runs in worker threads and,
 * with a simulated env and transport, inside the simulator.
 */
export class ActorNode extends MessageRouting {
  readonly taskPools: TaskPools | undefined;

  private readonly watches: Watches;
  private ready: ActorCell[] = [];
  private readyHead = 0;
  private inTurn = false;
  private turnPending = false;
  private readonly domains: NodeDomains;
  private nodeStreams: NodeStreams | undefined;
  private readonly mailboxCapacity: number;
  private readonly turnBudget: number;
  private readonly actorBudget: number;
  private readonly runTurnFn = (): void => this.runTurn();
  /** What afterTurn tells of a job queued in this node's turn: its simulator, if any. */
  private readonly afterTurnHook: () => void;

  constructor(opts: NodeOptions) {
    super(opts);
    this.domains = new NodeDomains(this, opts.openStore, opts.storageDomains ?? {});
    this.taskPools = opts.taskPools;
    this.mailboxCapacity = opts.mailboxCapacity ?? 100_000;
    this.turnBudget = opts.turnBudget ?? 20_000;
    this.actorBudget = opts.actorBudget ?? 256;
    const env = this.env;
    this.afterTurnHook = env.promised ? () => env.promised!() : () => undefined;
    this.watches = new Watches(this, this.cells);
  }

  // ---- spawning and stopping ----

  /** Spawns at once; a setup that throws makes spawn throw (an async setup that rejects is supervised). */
  spawn<P, M>(kind: ActorKind<P, M>, props: P, opts: SpawnOptions = {}): ActorRef<M> {
    return this.spawnCell(kind as ActorKind<unknown, unknown>, props, opts, undefined).ref as ActorRef<M>;
  }

  /**
   * Spawns and waits for the actor's setup: the ref comes back only once the actor has its
   * behaviour, and a setup that throws or rejects makes this reject with its error (the actor is
   * then stopped; messages already sent to it go to dead letters as stopped).
   */
  async spawnStarted(kind: ActorKind<unknown, unknown> | string, props: unknown, opts: SpawnOptions = {}): Promise<AnyRef> {
    const k = typeof kind === 'string' ? lookupKind(kind) : kind;
    if (!k) throw new Error(`unknown actor kind ${String(kind)} on node ${this.name} (is its module loaded?)`);
    const cell = this.newCell(k, props, opts, undefined);
    const outcome = await cell.start();
    if (outcome) {
      this.stopCell(cell);
      throw outcome.error;
    }
    return cell.ref;
  }

  spawnCell(kind: ActorKind<unknown, unknown>, props: unknown, opts: SpawnOptions, parent: ActorCell | undefined): ActorCell {
    const cell = this.newCell(kind, props, opts, parent);
    // The first setup's failure is the spawner's, not the supervisor's.
    const outcome = cell.start();
    if (isPromise(outcome)) void outcome.then((o) => o && cell.alive && this.failed(cell, o.error, 0));
    else if (outcome) {
      this.stopCell(cell);
      throw outcome.error;
    }
    return cell;
  }

  private newCell(kind: ActorKind<unknown, unknown>, props: unknown, opts: SpawnOptions, parent: ActorCell | undefined): ActorCell {
    checkSpawnOptions(opts);
    // Generated ids start with ~ and system endpoints with $, so neither can collide with a name.
    const id = opts.name ?? `~${(this.nextId++).toString(36)}`;
    if (this.cells.has(id)) throw new Error(`actor ${id} already exists on node ${this.name}`);
    const life = this.stoppedNames.lifeOf(id);
    const strategy = opts.supervision ? { ...defaultStrategy, ...opts.supervision } : defaultStrategy;
    const cell = new ActorCell(
      this,
      new ActorRef(this.name, id),
      kind,
      props,
      parent,
      strategy,
      opts.mailboxCapacity ?? this.mailboxCapacity,
      opts.storageDomain ?? DEFAULT_DOMAIN,
      life,
    );
    this.cells.set(id, cell);
    this.stoppedNames.forget(id);
    if (parent) (parent.children ??= new Map()).set(id, cell);
    return cell;
  }

  stopActor(id: string): boolean {
    const cell = this.cells.get(id);
    if (!cell) return false;
    this.stopCell(cell);
    return true;
  }

  /** Stops children first, then the cell; queued messages go to dead letters, watchers are told. */
  stopCell(cell: ActorCell): void {
    if (!cell.alive) return;
    cell.alive = false;
    for (const child of [...(cell.children?.values() ?? [])]) this.stopCell(child);
    cell.cancelTimers();
    cell.runStoppedHook();
    this.nodeStreams?.actorStopped(cell);
    // An ask whose async receive is still running will not be answered by this actor now.
    const running = replyHandleOf(cell.current);
    if (cell.busy && running) this.replyTo(running, new DeliveryError(refKey(cell.ref), 'stopped', 'stopped while handling it'), true);
    for (const [msg, meta] of cell.mailbox.drain()) if (!(meta instanceof StreamCredit)) this.refuse(cell.ref, 'stopped', msg, meta as Meta);
    this.cells.delete(cell.id);
    this.stoppedNames.remember(cell.id);
    cell.parent?.children?.delete(cell.id);
    this.watches.stopped(cell);
  }

  // ---- supervision ----

  /**
   * A cell's setup or receive threw: tell the asker, then apply the cell's supervisor strategy.
   */
  failed(cell: ActorCell, err: unknown, meta: Meta): void {
    const asker = replyHandleOf(meta);
    if (asker) this.replyTo(asker, err instanceof Error ? err : String(err), true);
    superviseFailure(this, cell, err);
  }

  // ---- watching ----

  watch(cell: ActorCell, ref: AnyRef, msg: unknown): void {
    this.watches.watch(cell, ref, msg);
  }

  unwatch(cell: ActorCell, ref: AnyRef): void {
    this.watches.unwatch(cell, ref);
  }

  protected watchMessage(from: string, body: unknown): void {
    this.watches.receive(from, body);
  }

  /** Another node died: its actors are terminated for every watcher here, and asks to it fail. */
  nodeDown(node: string): void {
    this.downNodes.add(node);
    this.nodeStreams?.nodeDown(node);
    this.watches.nodeDown(node);
    this.asks.failAll(node, (target) => new DeliveryError(target, 'node-down'));
  }

  /** A node came back (a new incarnation under the same name). */
  nodeUp(node: string): void {
    this.downNodes.delete(node);
  }

  // ---- scheduling ----

  /** Puts a cell that has messages and can take them into the ready queue. */
  wake(cell: ActorCell): void {
    if (!cell.alive || cell.scheduled || cell.busy || cell.receive === undefined || cell.mailbox.length === 0) return;
    cell.scheduled = true;
    this.ready.push(cell);
    if (!this.inTurn && !this.turnPending) this.requestTurn();
  }

  protected schedule(cell: ActorCell): void {
    cell.scheduled = true;
    this.ready.push(cell);
    if (!this.inTurn && !this.turnPending) this.requestTurn();
  }

  requestTurn(): void {
    if (this.turnPending || this.inTurn) return;
    this.turnPending = true;
    this.env.defer(this.runTurnFn);
  }

  /**
   * A transport is about to deliver a batch and then call drain: the messages it delivers wait
   * for that drain instead of deferring a turn (which would then run empty).
   */
  batchArriving(): void {
    if (!this.inTurn) this.turnPending = true;
  }

  /** Runs a turn now unless one is running (lower latency for messages that just arrived). */
  drain(): void {
    if (!this.inTurn) this.runTurn();
  }

  private runTurn(): void {
    this.turnPending = false;
    this.inTurn = true;
    const outerHook = enterTurn(this.afterTurnHook);
    let budget = this.turnBudget;
    try {
      while (budget > 0 && this.readyHead < this.ready.length) {
        const cell = this.ready[this.readyHead++]!;
        cell.scheduled = false;
        if (!cell.alive) continue;
        if (cell.domain?.full) {
          this.domains.hold(cell);
          continue;
        }
        const n = cell.run(this.actorBudget);
        this.transport.flushUrgent?.();
        budget -= n;
        this.counters.processed += n;
        if (cell.alive && !cell.busy && cell.mailbox.length > 0 && !cell.scheduled) {
          cell.scheduled = true;
          this.ready.push(cell);
        }
        // A commit's worth of writes: the turn ends so it starts, and what arrived meanwhile gets in.
        if (cell.domain?.commitDue) break;
      }
    } finally {
      if (this.readyHead === this.ready.length) {
        this.ready = [];
        this.readyHead = 0;
      } else if (this.readyHead > 4096) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      this.inTurn = false;
      leaveTurn(outerHook);
    }
    // Messages leave before the commit starts, so peers work while this node syncs.
    this.transport.flush?.();
    this.domains.commitIfDirty();
    if (this.readyHead < this.ready.length) this.requestTurn();
  }

  // ---- streams ----

  streams(): NodeStreams {
    return (this.nodeStreams ??= new NodeStreams(this));
  }

  cellOf(id: string): ActorCell | undefined {
    return this.cells.get(id);
  }

  /** Stream events skip the capacity check: the stream's window bounds them instead. */
  deliverStream(cell: ActorCell, event: unknown, meta: StreamCredit | 0): void {
    if (!cell.alive) return;
    cell.mailbox.push(event, meta);
    this.counters.in++;
    this.wake(cell);
  }

  // ---- storage ----

  /** A storage domain of this node (each its own store and group commit). */
  storage(domain = DEFAULT_DOMAIN): NodeStorage {
    return this.domains.get(domain);
  }

  /** Runs done once this actor's writes in each domain it used are synced (refused if any were refused). */
  afterDurable(cell: ActorCell, done: () => void, refused: (err: StorageCommitError) => void = () => undefined): void {
    this.domains.afterDurable(cell, done, refused);
  }

  // ---- introspection and shutdown ----

  hasActor(id: string): boolean {
    return this.cells.has(id);
  }

  actorIds(): string[] {
    return [...this.cells.keys()];
  }

  stats(): NodeStats {
    return nodeStats(this.name, this.cells.values(), this.counters, {
      pendingAsks: this.asks.size,
      deadLetters: this.deadLetters,
      storage: this.domains.stats(),
      encodedBodies: this.transport.encodedBodies ?? 0,
      streams: this.streams().stats(),
    });
  }

  /** Stops every actor, waits for storage to be synced, and closes it. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const cell of [...this.cells.values()]) if (!cell.parent) this.stopCell(cell);
    // Asks still waiting fail now, and their timers go: nothing keeps the process alive.
    this.asks.failAll(undefined, (target) => new DeliveryError(target, 'node-down', `node ${this.name} shut down before the answer came`));
    // Refused writes were logged when refused; what could be committed is.
    await this.domains.close();
  }
}
