import type { ActorContext, ReplyHandle, SpawnOptions, TimerOptions } from './context.ts';
import type { ActorKind, Behavior, Receive } from './kind.ts';
import { makeLogger, type Logger } from './log.ts';
import type { ActorNode, TimerHandle } from './node.ts';
import { MessageQueue } from './queue.ts';
import { seededRandom, hashString, type Random } from './random.ts';
import type { ActorRef, AnyRef } from './ref.ts';
import type { ActorStorage } from './storage/node-storage.ts';
import { RestartWindow, type SupervisorStrategy } from './supervision.ts';

/** The meta of a mailbox entry: 0 for a tell, the reply handle for an ask. */
export type Meta = 0 | ReplyHandle;

/**
 * One actor's runtime state: its mailbox, behaviour, children, timers and watches. The node
 * schedules cells; a cell runs one message at a time and, when a receive returns a promise, stays
 * busy (takes no next message) until it settles: turn-based, so actor state needs no locks.
 */
export class ActorCell {
  readonly mailbox = new MessageQueue();
  readonly children = new Map<string, ActorCell>();
  readonly timers = new Map<string, TimerHandle>();
  /** Actors watching this one, by `id@node`. */
  readonly watchers = new Map<string, AnyRef>();
  /** What this actor watches, by `id@node`, with the message to deliver on termination. */
  readonly watching = new Map<string, { ref: AnyRef; msg: unknown }>();
  readonly restarts = new RestartWindow();
  readonly random: Random;
  readonly log: Logger;
  readonly ctx: ActorContext<unknown>;

  receive: Receive<unknown> | undefined;
  private stoppedHook: (() => void) | undefined;
  /** In the node's ready queue. */
  scheduled = false;
  /** Awaiting an async setup or receive. */
  busy = false;
  alive = true;
  /** Meta of the message being handled (for ctx.reply). */
  current: Meta = 0;
  private storageView: ActorStorage | undefined;

  constructor(
    readonly node: ActorNode,
    readonly ref: ActorRef<unknown>,
    readonly kind: ActorKind<unknown, unknown>,
    readonly props: unknown,
    readonly parent: ActorCell | undefined,
    readonly strategy: SupervisorStrategy,
    readonly capacity: number,
  ) {
    this.random = seededRandom(hashString(ref.id, node.seed));
    this.log = makeLogger(node.logSink, () => node.env.now(), `${ref.id}@${ref.node}`);
    this.ctx = this.makeContext();
  }

  get id(): string {
    return this.ref.id;
  }

  /** Runs the kind's setup; messages wait in the mailbox until it is done. */
  start(): void {
    let result: Behavior<unknown> | Promise<Behavior<unknown>>;
    try {
      result = this.kind.setup(this.props, this.ctx);
    } catch (err) {
      this.node.failed(this, err, 0);
      return;
    }
    if (isPromise(result)) {
      this.busy = true;
      result.then(
        (b) => {
          this.busy = false;
          if (this.alive) this.become(b);
        },
        (err: unknown) => {
          this.busy = false;
          if (this.alive) this.node.failed(this, err, 0);
        },
      );
    } else {
      this.become(result);
    }
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
   * throws, or stops the actor.
   */
  run(budget: number): number {
    const receive = this.receive;
    if (receive === undefined) return 0;
    const box = this.mailbox;
    let n = 0;
    while (n < budget && box.length > 0) {
      const msg = box.peekMsg();
      const meta = box.peekMeta() as Meta;
      box.shift();
      n++;
      this.current = meta;
      let r: void | Promise<void>;
      try {
        r = receive(msg);
      } catch (err) {
        this.current = 0;
        this.node.failed(this, err, meta);
        return n;
      }
      if (r !== undefined && isPromise(r)) {
        this.busy = true;
        r.then(
          () => {
            this.busy = false;
            this.current = 0;
            this.node.wake(this);
          },
          (err: unknown) => {
            this.busy = false;
            this.current = 0;
            if (this.alive) this.node.failed(this, err, meta);
          },
        );
        return n;
      }
      if (!this.alive || this.receive !== receive) break;
    }
    this.current = 0;
    return n;
  }

  /** Runs the stopped hook, if any (on stop, not on restart). */
  runStoppedHook(): void {
    const hook = this.stoppedHook;
    this.stoppedHook = undefined;
    if (hook) {
      try {
        hook();
      } catch (err) {
        this.log.error('stopped hook threw', { error: String(err) });
      }
    }
  }

  /** Forget the behaviour before a restart; the mailbox stays. */
  resetBehavior(): void {
    this.receive = undefined;
    this.stoppedHook = undefined;
  }

  cancelTimers(): void {
    for (const h of this.timers.values()) this.node.env.clearTimer(h);
    this.timers.clear();
  }

  private makeContext(): ActorContext<unknown> {
    const cell = this;
    const node = this.node;
    const replyOf = (): ReplyHandle | undefined => (cell.current === 0 ? undefined : cell.current);
    return {
      self: cell.ref,
      node: node.name,
      log: cell.log,
      get storage(): ActorStorage {
        return (cell.storageView ??= node.storage().scope(cell.id));
      },
      send: (ref, msg) => node.tell(ref, msg),
      sendWhenDurable: (ref, msg) => node.storage().afterDurable(() => node.tell(ref, msg)),
      ask: (ref, msg, opts) => node.ask(ref, msg, opts?.timeoutMs) as never,
      reply: (value) => {
        const h = replyOf();
        if (h) node.replyTo(h, value, false);
      },
      replyError: (error) => {
        const h = replyOf();
        if (h) node.replyTo(h, error, true);
      },
      replyWhenDurable: (value) => {
        const h = replyOf();
        if (h) node.storage().afterDurable(() => node.replyTo(h, value, false));
      },
      replyHandle: replyOf,
      replyTo: (h, value) => node.replyTo(h, value, false),
      replyErrorTo: (h, error) => node.replyTo(h, error, true),
      spawn: <P, C>(kind: ActorKind<P, C>, props: P, opts?: SpawnOptions) =>
        node.spawnCell(kind as ActorKind<unknown, unknown>, props, opts ?? {}, cell).ref as ActorRef<C>,
      stop: (ref) => {
        if (ref === undefined || (ref.node === cell.ref.node && ref.id === cell.id)) node.stopCell(cell);
        else {
          const child = cell.children.get(ref.id);
          if (child) node.stopCell(child);
          else cell.log.warn('stop: not a child of this actor', { ref: String(ref) });
        }
      },
      children: () => [...cell.children.values()].map((c) => c.ref),
      watch: (ref, msg) => node.watch(cell, ref, msg),
      unwatch: (ref) => node.unwatch(cell, ref),
      setTimer: (key: string, delayMs: number, msg: unknown, opts?: TimerOptions) => {
        const old = cell.timers.get(key);
        if (old !== undefined) node.env.clearTimer(old);
        const fire = (): void => {
          if (!cell.alive) return;
          if (opts?.repeat) cell.timers.set(key, node.env.setTimer(fire, delayMs));
          else cell.timers.delete(key);
          node.deliverLocal(cell.id, msg, 0);
        };
        cell.timers.set(key, node.env.setTimer(fire, delayMs));
      },
      cancelTimer: (key) => {
        const h = cell.timers.get(key);
        if (h !== undefined) {
          node.env.clearTimer(h);
          cell.timers.delete(key);
        }
      },
      now: () => node.env.now(),
      random: () => cell.random(),
      unhandled: (msg) => {
        node.deadLetter(cell.ref, 'unhandled', msg);
        const h = replyOf();
        if (h) node.replyTo(h, `unhandled message ${describe(msg)}`, true);
      },
    };
  }
}

function describe(msg: unknown): string {
  const t = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
  return typeof t === 'string' ? t : typeof msg;
}

export function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
