import { enterTurn, leaveTurn } from './after-turn.ts';
import { ActorCell, isPromise, replyHandleOf, type Meta } from './cell.ts';
import { checkMs, checkSpawnOptions } from './checks.ts';
import type { ReplyHandle, SpawnOptions } from './context.ts';
import { DeadLetters, messageTypeOf } from './dead-letters.ts';
import { errorBody } from './error-replies.ts';
import { DeliveryError, StorageCommitError, type DeadLetterReason } from './errors.ts';
import { lookupKind, type ActorKind } from './kind.ts';
import type { LogSink } from './log.ts';
import { checkEnvelope, checkMessage, checkValue } from './message-shape.ts';
import type { NodeEnv, NodeOptions, NodeStats, Transport } from './node-host.ts';
import { PendingAsks } from './pending-asks.ts';
import { ActorRef, refKey, type AnyRef } from './ref.ts';
import { DEFAULT_DOMAIN, StorageDomains, whenAllDurable, type OpenStore, type StorageDomainOptions } from './storage/domains.ts';
import { NodeStorage } from './storage/node-storage.ts';
import { StoppedNames } from './stopped-names.ts';
import { NodeStreams, StreamCredit } from './streams.ts';
import { defaultStrategy, RestartWindow } from './supervision.ts';
import type { TaskPools } from './tasks/task-pool.ts';
import { Watches } from './watches.ts';

/**
 * One actor system on one thread: its actors, a fair scheduler, local and remote routing, asks,
 * watches, supervision and group-committed storage. The same class runs in worker threads and,
 * with a simulated env and transport, inside the simulator.
 */
export class ActorNode {
  readonly name: string;
  readonly env: NodeEnv;
  readonly seed: number;
  readonly logSink: LogSink;
  readonly deadLetters = new DeadLetters();
  readonly taskPools: TaskPools | undefined;
  transport: Transport = { send: () => 'unknown-node' };

  private readonly cells = new Map<string, ActorCell>();
  private readonly asks: PendingAsks;
  private readonly watches: Watches;
  private readonly downNodes = new Set<string>();
  private ready: ActorCell[] = [];
  private readyHead = 0;
  private inTurn = false;
  private turnPending = false;
  private nextId = 1;
  private domains: StorageDomains | undefined;
  private readonly domainOptions: Record<string, StorageDomainOptions>;
  private nodeStreams: NodeStreams | undefined;
  private readonly openStore: OpenStore;
  private readonly mailboxCapacity: number;
  private readonly turnBudget: number;
  private readonly actorBudget: number;
  private readonly defaultAskTimeoutMs: number;
  private readonly checkSameThreadMessages: boolean;
  private readonly runTurnFn = (): void => this.runTurn();
  /** What afterTurn tells of a job queued in this node's turn: its simulator, if any. */
  private readonly afterTurnHook: () => void;
  private counters = { in: 0, out: 0, processed: 0 };
  private readonly stoppedNames = new StoppedNames();
  private closed = false;

  constructor(opts: NodeOptions) {
    this.name = opts.name;
    this.env = opts.env;
    this.seed = opts.seed;
    this.logSink = opts.logSink;
    this.openStore = opts.openStore;
    this.domainOptions = opts.storageDomains ?? {};
    this.taskPools = opts.taskPools;
    this.mailboxCapacity = opts.mailboxCapacity ?? 100_000;
    this.turnBudget = opts.turnBudget ?? 20_000;
    this.actorBudget = opts.actorBudget ?? 256;
    this.defaultAskTimeoutMs = opts.defaultAskTimeoutMs ?? 5_000;
    this.checkSameThreadMessages = opts.checkSameThreadMessages ?? true;
    this.asks = new PendingAsks(this.env);
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
   * A restart whose setup throws again loops here (never recursing) until the strategy stops it.
   */
  failed(cell: ActorCell, err: unknown, meta: Meta): void {
    const asker = replyHandleOf(meta);
    if (asker) this.replyTo(asker, err instanceof Error ? err : String(err), true);
    let error = err;
    while (cell.alive) {
      const decision = (cell.restarts ??= new RestartWindow()).decide(cell.strategy, this.env.now());
      cell.logger().error(`failed (${decision})`, { error: error instanceof Error ? error : String(error) });
      switch (decision) {
        case 'resume':
          this.wake(cell);
          return;
        case 'restart': {
          for (const child of [...(cell.children?.values() ?? [])]) this.stopCell(child);
          cell.cancelTimers();
          cell.resetBehavior();
          const outcome = cell.start();
          if (isPromise(outcome)) void outcome.then((o) => o && cell.alive && this.failed(cell, o.error, 0));
          else if (outcome) {
            error = outcome.error;
            continue;
          }
          return;
        }
        case 'stop':
          this.stopCell(cell);
          return;
        case 'escalate': {
          const parent = cell.parent;
          this.stopCell(cell);
          if (parent) this.failed(parent, error, 0);
          return;
        }
        default: {
          const never: never = decision;
          throw new Error(`unknown decision ${String(never)}`);
        }
      }
    }
  }

  // ---- sending ----

  /**
   * Throws UnsendableError (naming the path inside msg) for what no path could carry faithfully;
   * on this node's own thread only for a missing `type`, unless checkSameThreadMessages is set.
   */
  tell(ref: AnyRef, msg: unknown): void {
    if (ref.node !== this.name) {
      checkMessage(msg);
      this.sendRemote(ref, msg, 0);
      return;
    }
    if (this.checkSameThreadMessages) checkMessage(msg);
    else checkEnvelope(msg);
    this.deliverLocal(ref.id, msg, 0);
  }

  /**
   * tell to each ref, with the message checked once and, where the transport encodes, encoded
   * once for all the refs on other nodes (a Paxos leader's Accept to its acceptors).
   */
  tellMany(refs: readonly AnyRef[], msg: unknown): void {
    checkMessage(msg);
    let remote = 0;
    for (const ref of refs) if (ref.node !== this.name) remote++;
    const body = remote > 1 && this.transport.shareEncoding ? this.transport.shareEncoding(msg) : msg;
    for (const ref of refs) {
      if (ref.node === this.name) this.deliverLocal(ref.id, msg, 0);
      else this.sendRemote(ref, msg, 0, body);
    }
  }

  ask(ref: AnyRef, msg: unknown, timeoutMs = this.defaultAskTimeoutMs): Promise<unknown> {
    return new Promise((resolve, reject) => {
      checkMessage(msg); // a throw here rejects the ask
      checkMs(`ask ${messageTypeOf(msg) ?? typeof msg} to ${refKey(ref)}: timeoutMs`, timeoutMs, true);
      if (this.closed) throw new DeliveryError(refKey(ref), 'node-down', `node ${this.name} has shut down`);
      const corr = this.asks.open(ref.node, refKey(ref), msg, timeoutMs, resolve, reject);
      if (ref.node === this.name) this.deliverLocal(ref.id, msg, { node: this.name, corr });
      else this.sendRemote(ref, msg, corr);
    });
  }

  replyTo(h: ReplyHandle, value: unknown, isError: boolean): void {
    if (!isError) checkValue(value, 'reply');
    const body = isError ? errorBody(value) : value;
    if (h.node === this.name) this.asks.settle(h.corr, isError, body);
    else {
      const why = this.transport.send(h.node, isError ? '!' : '', body, -h.corr);
      if (why) this.deadLetter(new ActorRef(h.node, '$reply'), why, body);
      else this.counters.out++;
    }
  }

  /** body is what the transport carries: msg itself, or its shared encoding. */
  private sendRemote(ref: AnyRef, msg: unknown, corr: number, body: unknown = msg): void {
    const why = this.downNodes.has(ref.node) ? 'node-down' : this.transport.send(ref.node, ref.id, body, corr);
    if (why) this.refuse(ref, why, msg, corr > 0 ? { node: this.name, corr } : 0);
    else this.counters.out++;
  }

  /** The hot path of every local message. */
  deliverLocal(id: string, msg: unknown, meta: Meta): void {
    const cell = this.cells.get(id);
    if (cell === undefined) return this.refuse(new ActorRef(this.name, id), this.stoppedNames.has(id, this.nextId) ? 'stopped' : 'no-such-actor', msg, meta);
    if (cell.mailbox.length >= cell.capacity) return this.refuse(cell.ref, 'mailbox-full', msg, meta);
    cell.mailbox.push(msg, meta);
    this.counters.in++;
    if (!cell.scheduled && !cell.busy && cell.receive !== undefined) {
      cell.scheduled = true;
      this.ready.push(cell);
      if (!this.inTurn && !this.turnPending) this.requestTurn();
    }
  }

  /** A message from another node (already decoded by the transport). */
  receiveRemote(from: string, to: string, body: unknown, corr: number): void {
    if (corr < 0) return this.asks.settle(-corr, to === '!', body);
    if (to === '$sys') return this.watches.receive(from, body);
    if (to === '$stream') return this.streams().receive(from, body);
    const meta: Meta = corr > 0 ? { node: from, corr } : 0;
    if (typeof body !== 'object' || body === null || typeof (body as { type?: unknown }).type !== 'string') {
      return this.refuse(new ActorRef(this.name, to), 'malformed', body, meta, 'a message is an object with a string type');
    }
    this.deliverLocal(to, body, meta);
  }

  /** Records a dead letter; an ask gets a fast error reply instead of waiting for its timeout. */
  private refuse(target: AnyRef, reason: DeadLetterReason, msg: unknown, meta: Meta, detail?: string): void {
    this.deadLetter(target, reason, msg, detail);
    const asker = replyHandleOf(meta);
    if (asker) this.replyTo(asker, new DeliveryError(refKey(target), reason, detail), true);
  }

  /** The transport could not send a message it had accepted (too large, not serializable). */
  unsendable(peer: string, to: string, body: unknown, corr: number, reason: DeadLetterReason, detail: string): void {
    const target = new ActorRef(peer, corr < 0 ? '$reply' : to);
    this.deadLetter(target, reason, body, detail);
    const err = errorBody(new DeliveryError(refKey(target), reason, detail));
    if (corr > 0) this.asks.settle(corr, true, err);
    else if (corr < 0) this.transport.send(peer, '!', err, corr); // the asker learns now, not at its timeout
  }

  /** Bytes from a peer that are not a batch of envelopes. */
  malformedFrame(peer: string, detail: string): void {
    this.deadLetter(new ActorRef(this.name, '$transport'), 'malformed', undefined, `from ${peer}: ${detail}`);
  }

  deadLetter(target: AnyRef, reason: DeadLetterReason, msg: unknown, detail?: string): void {
    const messageType = messageTypeOf(msg);
    this.deadLetters.record({
      target: refKey(target),
      reason,
      time: this.env.now(),
      ...(messageType === undefined ? {} : { messageType }),
      ...(detail === undefined ? {} : { detail }),
    });
  }

  // ---- watching ----

  watch(cell: ActorCell, ref: AnyRef, msg: unknown): void {
    this.watches.watch(cell, ref, msg);
  }

  unwatch(cell: ActorCell, ref: AnyRef): void {
    this.watches.unwatch(cell, ref);
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

  requestTurn(): void {
    if (this.turnPending || this.inTurn) return;
    this.turnPending = true;
    this.env.defer(this.runTurnFn);
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
          this.hold(cell);
          continue;
        }
        const n = cell.run(this.actorBudget);
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
    this.domains?.commitIfDirty();
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

  /** Node-to-node housekeeping on a system endpoint; returns why it cannot be sent. */
  sendSystem(peer: string, endpoint: string, body: unknown): DeadLetterReason | undefined {
    return this.downNodes.has(peer) ? 'node-down' : this.transport.send(peer, endpoint, body, 0);
  }

  // ---- storage ----

  /**
   * A commit failed. The actor's state in memory may hold what storage refused: its supervisor
   * decides (a restart rebuilds it from storage), once its current turn is over.
   */
  private storageFailed(domain: string, err: unknown): void {
    this.logSink('error', this.env.now(), this.name, `storage commit failed in domain ${domain}`, { error: err });
    if (!(err instanceof StorageCommitError)) return;
    const cell = this.cells.get(err.owner);
    if (cell?.receive === undefined) return;
    if (cell.busy) cell.pendingFailure = err;
    else this.failed(cell, err, 0);
  }

  /** A storage domain of this node (each its own store and group commit). */
  storage(domain = DEFAULT_DOMAIN): NodeStorage {
    this.domains ??= new StorageDomains((name) => {
      const opts = this.domainOptions[name] ?? {};
      const d = new NodeStorage(
        this.openStore(name, opts),
        (err) => this.storageFailed(name, err),
        (fn, ms) => this.env.setTimer(fn, ms),
        opts.maxPendingBytes,
        opts.maxCommitBytes,
      );
      // Writes made outside a turn (after an await) still get committed.
      d.onDirty = () => this.requestTurn();
      return d;
    });
    return this.domains.get(domain);
  }

  /** Runs done once this actor's writes in each domain it used are synced (refused if any were refused). */
  afterDurable(cell: ActorCell, done: () => void, refused: (err: StorageCommitError) => void = () => undefined): void {
    whenAllDurable(cell.domainsUsed(), cell.id, done, refused);
  }

  /** A writer whose domain is over its byte bound waits: its next message waits for room. */
  private hold(cell: ActorCell): void {
    if (cell.held) return;
    cell.held = true;
    void cell.domain!.room().then(() => {
      cell.held = false;
      this.env.promised?.();
      this.wake(cell);
    });
  }

  // ---- introspection and shutdown ----

  hasActor(id: string): boolean {
    return this.cells.has(id);
  }

  actorIds(): string[] {
    return [...this.cells.keys()];
  }

  stats(): NodeStats {
    let total = 0;
    const depths: Array<{ actor: string; depth: number }> = [];
    for (const c of this.cells.values()) {
      total += c.mailbox.length;
      if (c.mailbox.length > 0) depths.push({ actor: c.id, depth: c.mailbox.length });
    }
    depths.sort((a, b) => b.depth - a.depth);
    return {
      node: this.name,
      actors: this.cells.size,
      messagesIn: this.counters.in,
      messagesOut: this.counters.out,
      processed: this.counters.processed,
      pendingAsks: this.asks.size,
      mailboxTotal: total,
      deepestMailboxes: depths.slice(0, 10),
      deadLetters: { total: this.deadLetters.total, byReason: { ...this.deadLetters.counts } },
      storage: this.domains?.stats() ?? { commits: 0, writes: 0 },
      encodedBodies: this.transport.encodedBodies ?? 0,
    };
  }

  /** Stops every actor, waits for storage to be synced, and closes it. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const cell of [...this.cells.values()]) if (!cell.parent) this.stopCell(cell);
    // Asks still waiting fail now, and their timers go: nothing keeps the process alive.
    this.asks.failAll(undefined, (target) => new DeliveryError(target, 'node-down', `node ${this.name} shut down before the answer came`));
    // Refused writes were logged when refused; what could be committed is.
    await this.domains?.close();
  }
}
