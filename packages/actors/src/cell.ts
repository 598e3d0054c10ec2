import { CellContext } from './cell-context.ts';
import type { ActorContext } from './context.ts';
import type { ActorKind, Behavior, Next, Receive } from './kind.ts';
import { makeLogger, type Logger } from './log.ts';
import type { Meta } from './mailbox-meta.ts';
import type { ActorNode } from './node.ts';
import type { TimerHandle } from './node-host.ts';
import { MessageQueue } from './queue.ts';
import type { Random } from './random.ts';
import type { ActorRef, AnyRef } from './ref.ts';
import type { ActorStorage, NodeStorage } from './storage/node-storage.ts';
import { StreamCredit } from './streams.ts';
import { RestartWindow, type SupervisorStrategy } from './supervision.ts';

export { replyHandleOf, type Meta } from './mailbox-meta.ts';

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
        this.credit(meta);
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
            this.credit(meta);
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
            this.credit(meta);
            // Even if the actor was stopped meanwhile, its asker hears of the failure now.
            this.node.failed(this, err, meta);
          },
        );
        return n;
      }
      this.credit(meta);
      // A writer over its domain's byte bound stops here (the node holds its next message), and
      // one that filled a commit stops so the commit can start.
      const domain = this.domain;
      if (!this.alive || this.receive !== receive || (domain !== undefined && (domain.full || domain.commitDue))) break;
    }
    this.current = 0;
    return n;
  }

  /** A receive of stream data is done: its bytes go back to the sender as credit. */
  private credit(meta: Meta): void {
    if (meta !== 0 && meta instanceof StreamCredit) this.node.streams().consumed(meta);
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

export function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
