import { checkMs } from './checks.ts';
import type { ActorContext, ReplyHandle, SendOptions, Settled, SpawnOptions, TimerOptions } from './context.ts';
import type { ActorKind, Behavior, Next, Receive } from './kind.ts';
import { makeLogger, type Logger } from './log.ts';
import { checkMessage, checkValue } from './message-shape.ts';
import type { ActorNode } from './node.ts';
import type { TimerHandle } from './node-host.ts';
import { MessageQueue } from './queue.ts';
import { hashString, incarnationSeed, seededRandom, type Random } from './random.ts';
import { ActorRef, isActorRef, type AnyRef } from './ref.ts';
import type { ActorStorage, NodeStorage } from './storage/node-storage.ts';
import { StreamCredit, type StreamEvent, type StreamOptions, type StreamWriter } from './streams.ts';
import { RestartWindow, type SupervisorStrategy } from './supervision.ts';

/** The meta of a mailbox entry: 0 for a tell, the reply handle for an ask, a credit for stream data. */
export type Meta = 0 | ReplyHandle | StreamCredit;

export function replyHandleOf(meta: Meta): ReplyHandle | undefined {
  return meta === 0 || meta instanceof StreamCredit ? undefined : meta;
}

/** A setup that failed (wrapped: a setup may throw anything, undefined included), or undefined. */
export type SetupOutcome = { error: unknown } | undefined;

/**
 * One actor's runtime state. The node schedules cells; a cell runs one message at a time and,
 * when a receive returns a promise, stays busy (takes no next message) until it settles:
 * turn-based, so actor state needs no locks. Everything an idle actor may never need (children,
 * timers, watches, logger, PRNG) is created on first use: an idle actor should cost a few
 * hundred bytes.
 */
export class ActorCell {
  readonly mailbox = new MessageQueue();
  readonly ctx: ActorContext<unknown>;
  receive: Receive<unknown> | undefined = undefined;
  stoppedHook: (() => void) | undefined = undefined;
  /** In the node's ready queue. */
  scheduled = false;
  /** Awaiting an async setup or receive. */
  busy = false;
  alive = true;
  /** Meta of the message being handled (for ctx.reply). */
  current: Meta = 0;

  children: Map<string, ActorCell> | undefined = undefined;
  timers: Map<string, TimerHandle> | undefined = undefined;
  /** Actors watching this one, by `id@node`. */
  watchers: Map<string, AnyRef> | undefined = undefined;
  /** What this actor watches, by `id@node`, with the message to deliver on termination. */
  watching: Map<string, { ref: AnyRef; msg: unknown }> | undefined = undefined;
  restarts: RestartWindow | undefined = undefined;
  random: Random | undefined = undefined;
  log: Logger | undefined = undefined;
  storageView: ActorStorage | undefined = undefined;
  /** A failure that arrived during an async receive (its writes were refused), applied when the turn ends. */
  pendingFailure: Error | undefined = undefined;
  /** The storage domain behind ctx.storage, once used; other domains the actor used. */
  domain: NodeStorage | undefined = undefined;
  otherDomains: Set<NodeStorage> | undefined = undefined;
  /** Waiting for room in its domain (over the bound on writes waiting for their commit). */
  held = false;

  constructor(
    readonly node: ActorNode,
    readonly ref: ActorRef<unknown>,
    readonly kind: ActorKind<unknown, unknown>,
    readonly props: unknown,
    readonly parent: ActorCell | undefined,
    readonly strategy: SupervisorStrategy,
    readonly capacity: number,
    readonly domainName: string,
    /** Which life of its name on this node the actor is (0: the first), mixed into its random stream. */
    readonly life: number,
  ) {
    this.ctx = new CellContext(this);
  }

  ownDomain(): NodeStorage {
    return (this.domain ??= this.node.storage(this.domainName));
  }

  /** Where a durable reply must wait: the actor's own domain and any other it wrote through. */
  domainsUsed(): NodeStorage[] {
    const own = this.ownDomain();
    return this.otherDomains ? [own, ...this.otherDomains] : [own];
  }

  get id(): string {
    return this.ref.id;
  }

  logger(): Logger {
    return (this.log ??= makeLogger(this.node.logSink, () => this.node.env.now(), `${this.ref.id}@${this.ref.node}`));
  }

  /**
   * Runs the kind's setup; messages wait in the mailbox until it is done. Returns the failure of
   * a setup that threw at once, or, for an async setup, a promise of its failure (undefined once
   * the actor has its behaviour): the caller decides what a failure means (spawn fails with it;
   * a restart goes back to the supervisor).
   */
  start(): SetupOutcome | Promise<SetupOutcome> {
    let result: Behavior<unknown> | Promise<Behavior<unknown>>;
    try {
      result = this.kind.setup(this.props, this.ctx);
    } catch (error) {
      return { error };
    }
    if (!isPromise(result)) {
      this.become(result);
      return undefined;
    }
    this.busy = true;
    this.node.env.promised?.();
    return result.then(
      (b) => {
        this.busy = false;
        if (this.alive) this.become(b);
        return undefined;
      },
      (error: unknown) => {
        this.busy = false;
        return { error };
      },
    );
  }

  private become(b: Behavior<unknown>): void {
    if (typeof b === 'function') {
      this.receive = b;
      this.stoppedHook = undefined;
    } else {
      this.receive = b.receive;
      this.stoppedHook = b.stopped;
    }
    this.node.wake(this);
  }

  /**
   * Handles up to `budget` messages; returns how many. Stops early when a receive goes async,
   * throws, or stops or restarts the actor.
   */
  run(budget: number): number {
    let receive = this.receive;
    if (receive === undefined) return 0;
    const box = this.mailbox;
    let n = 0;
    while (n < budget && box.length > 0) {
      const msg = box.take();
      const meta = box.takenMeta as Meta;
      n++;
      this.current = meta;
      let r: Next<unknown> | Promise<Next<unknown>>;
      try {
        r = receive(msg);
      } catch (err) {
        this.current = 0;
        if (meta !== 0 && meta instanceof StreamCredit) this.node.streams().consumed(meta);
        this.node.failed(this, err, meta);
        return n;
      }
      if (typeof r === 'function') {
        // A switch of behaviour, unless the receive stopped or restarted the actor.
        if (this.alive && this.receive === receive) this.receive = receive = r;
      } else if (r !== undefined && isPromise(r)) {
        this.busy = true;
        this.node.env.promised?.();
        r.then(
          (next) => {
            this.busy = false;
            this.current = 0;
            if (meta !== 0 && meta instanceof StreamCredit) this.node.streams().consumed(meta);
            const failure = this.pendingFailure;
            this.pendingFailure = undefined;
            if (failure) return this.node.failed(this, failure, 0);
            // Not if a restart or another switch replaced the behaviour meanwhile.
            if (typeof next === 'function' && this.receive === receive) this.receive = next;
            this.node.wake(this);
          },
          (err: unknown) => {
            this.busy = false;
            this.current = 0;
            this.pendingFailure = undefined;
            if (meta !== 0 && meta instanceof StreamCredit) this.node.streams().consumed(meta);
            // Even if the actor was stopped meanwhile, its asker hears of the failure now.
            this.node.failed(this, err, meta);
          },
        );
        return n;
      }
      if (meta !== 0 && meta instanceof StreamCredit) this.node.streams().consumed(meta);
      // A writer over its domain's byte bound stops here (the node holds its next message), and
      // one that filled a commit stops so the commit can start.
      const domain = this.domain;
      if (!this.alive || this.receive !== receive || (domain !== undefined && (domain.full || domain.commitDue))) break;
    }
    this.current = 0;
    return n;
  }

  /** Runs the stopped hook, if any (on stop, not on restart). */
  runStoppedHook(): void {
    const hook = this.stoppedHook;
    this.stoppedHook = undefined;
    if (!hook) return;
    try {
      hook();
    } catch (err) {
      this.logger().error('stopped hook threw', { error: err });
    }
  }

  /** Forget the behaviour before a restart; the mailbox stays. */
  resetBehavior(): void {
    this.receive = undefined;
    this.stoppedHook = undefined;
  }

  cancelTimers(): void {
    if (!this.timers) return;
    for (const h of this.timers.values()) this.node.env.clearTimer(h);
    this.timers.clear();
  }
}

/** ctx for one cell: methods live on the prototype, so a context costs one small object. */
class CellContext implements ActorContext<unknown> {
  constructor(readonly cell: ActorCell) {}

  get self(): ActorRef<unknown> {
    return this.cell.ref;
  }
  get node(): string {
    return this.cell.node.name;
  }
  get log(): Logger {
    return this.cell.logger();
  }
  get storage(): ActorStorage {
    return (this.cell.storageView ??= this.cell.ownDomain().scope(this.cell.id));
  }
  storageDomain(name: string): ActorStorage {
    const cell = this.cell;
    const d = cell.node.storage(name);
    if (d === cell.ownDomain()) return this.storage;
    (cell.otherDomains ??= new Set()).add(d);
    return d.scope(cell.id);
  }

  private handle(): ReplyHandle | undefined {
    return replyHandleOf(this.cell.current);
  }

  send<T>(ref: ActorRef<T>, msg: T, opts?: SendOptions): void {
    this.cell.node.tell(target(ref, 'send'), msg, opts?.urgent);
  }
  sendMany<T>(refs: readonly ActorRef<T>[], msg: T, opts?: SendOptions): void {
    for (const ref of refs) target(ref, 'sendMany');
    this.cell.node.tellMany(refs, msg, opts?.urgent);
  }
  sendWhenDurable<T>(ref: ActorRef<T>, msg: T): void {
    // Checked now, in the actor's turn (its supervisor sees a throw), not when the commit lands.
    const to = target(ref, 'sendWhenDurable');
    checkMessage(msg);
    const node = this.cell.node;
    // Refused: the message is not sent (the refusal is logged by the node).
    node.afterDurable(this.cell, () => node.tell(to, msg));
  }
  ask(ref: AnyRef, msg: unknown, opts?: { timeoutMs?: number }): Promise<never> {
    return this.cell.node.ask(target(ref, 'ask'), msg, opts?.timeoutMs) as Promise<never>;
  }

  reply(value: unknown): void {
    const h = this.handle();
    if (h) this.cell.node.replyTo(h, value, false);
  }
  replyError(error: Error | string): void {
    const h = this.handle();
    if (h) this.cell.node.replyTo(h, error, true);
  }
  replyWhenDurable(value: unknown): void {
    const h = this.handle();
    const node = this.cell.node;
    checkValue(value, 'reply');
    if (h) node.afterDurable(this.cell, () => node.replyTo(h, value, false), (err) => node.replyTo(h, err, true));
  }
  replyHandle(): ReplyHandle<never> | undefined {
    return this.handle() as ReplyHandle<never> | undefined;
  }
  replyTo(h: ReplyHandle, value: unknown): void {
    this.cell.node.replyTo(h, value, false);
  }
  replyErrorTo(h: ReplyHandle, error: Error | string): void {
    this.cell.node.replyTo(h, error, true);
  }
  pipeToSelf<T>(promise: Promise<T>, toMsg: (result: Settled<T>) => unknown): void {
    const cell = this.cell;
    const deliver = (result: Settled<T>): void => {
      cell.node.env.promised?.();
      if (!cell.alive) return;
      let msg: unknown;
      try {
        msg = toMsg(result);
      } catch (err) {
        cell.node.failed(cell, err, 0);
        return;
      }
      cell.node.deliverLocal(cell.id, msg, 0);
    };
    promise.then(
      (value) => deliver({ ok: true, value }),
      (err: unknown) => deliver({ ok: false, error: err instanceof Error ? err : new Error(String(err)) }),
    );
  }

  spawn<P, C>(kind: ActorKind<P, C>, props: P, opts?: SpawnOptions): ActorRef<C> {
    return this.cell.node.spawnCell(kind as ActorKind<unknown, unknown>, props, opts ?? {}, this.cell).ref as ActorRef<C>;
  }
  stop(ref?: AnyRef): void {
    const cell = this.cell;
    if (ref === undefined || (ref.node === cell.ref.node && ref.id === cell.id)) return cell.node.stopCell(cell);
    const child = cell.children?.get(ref.id);
    if (child) cell.node.stopCell(child);
    else this.log.warn('stop: not a child of this actor', { ref: String(ref) });
  }
  children(): ActorRef<unknown>[] {
    return [...(this.cell.children?.values() ?? [])].map((c) => c.ref);
  }
  watch(ref: AnyRef, msg: unknown): void {
    this.cell.node.watch(this.cell, ref, msg);
  }
  unwatch(ref: AnyRef): void {
    this.cell.node.unwatch(this.cell, ref);
  }

  setTimer(key: string, delayMs: number, msg: unknown, opts?: TimerOptions): void {
    // A NaN or over-long delay would fire at once (and a repeating one would never stop firing).
    checkMs(`setTimer ${key}: delayMs`, delayMs, opts?.repeat === true);
    const cell = this.cell;
    const env = cell.node.env;
    const timers = (cell.timers ??= new Map());
    const old = timers.get(key);
    if (old !== undefined) env.clearTimer(old);
    const fire = (): void => {
      if (!cell.alive) return;
      if (opts?.repeat) timers.set(key, env.setTimer(fire, delayMs));
      else timers.delete(key);
      cell.node.deliverLocal(cell.id, msg, 0);
    };
    timers.set(key, env.setTimer(fire, delayMs));
  }
  cancelTimer(key: string): void {
    const h = this.cell.timers?.get(key);
    if (h === undefined) return;
    this.cell.node.env.clearTimer(h);
    this.cell.timers!.delete(key);
  }
  sleep(delayMs: number): Promise<void> {
    checkMs('sleep: delayMs', delayMs, false);
    const env = this.cell.node.env;
    return new Promise((resolve) =>
      env.setTimer(() => {
        env.promised?.();
        resolve();
      }, delayMs),
    );
  }
  now(): number {
    return this.cell.node.env.now();
  }
  random(): number {
    const cell = this.cell;
    return (cell.random ??= seededRandom(incarnationSeed(hashString(cell.ref.id, cell.node.seed), cell.life)))();
  }
  openStream(ref: ActorRef<StreamEvent>, opts?: StreamOptions): StreamWriter {
    return this.cell.node.streams().open(this.cell, target(ref, 'openStream'), opts ?? {});
  }
  abortStream(stream: string, reason: string): void {
    this.cell.node.streams().abortIncoming(this.cell, stream, reason);
  }
  unhandled(msg: unknown): void {
    this.cell.node.deadLetter(this.cell.ref, 'unhandled', msg);
    const h = this.handle();
    if (h) this.cell.node.replyTo(h, `unhandled message ${describe(msg)}`, true);
  }
}

function describe(msg: unknown): string {
  const t = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
  return typeof t === 'string' ? t : typeof msg;
}

export function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A ref from a message may be anything at run time (data from another node): check it is a ref. */
function target<R extends AnyRef>(ref: R, call: string): R {
  if (!isActorRef(ref)) throw new TypeError(`${call}: the target is not an ActorRef (got ${ref === null ? 'null' : typeof ref})`);
  return ref;
}

/** The node behind an actor's context: for the runtime's own kinds (Pool) to reach host services. */
export function hostOf(ctx: ActorContext<never>): ActorNode {
  if (!(ctx instanceof CellContext)) throw new TypeError('not a runtime actor context');
  return ctx.cell.node;
}
