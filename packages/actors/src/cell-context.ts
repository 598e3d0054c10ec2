import type { ActorCell } from './cell.ts';
import { checkMs } from './checks.ts';
import type { ActorContext, ReplyHandle, SendOptions, Settled, SpawnOptions, TimerOptions } from './context.ts';
import type { ActorKind } from './kind.ts';
import type { Logger } from './log.ts';
import { replyHandleOf } from './mailbox-meta.ts';
import { checkMessage, checkValue } from './message-shape.ts';
import type { ActorNode } from './node.ts';
import { hashString, incarnationSeed, seededRandom } from './random.ts';
import { isActorRef, type ActorRef, type AnyRef } from './ref.ts';
import type { ActorStorage } from './storage/node-storage.ts';
import type { StreamEvent, StreamOptions, StreamWriter } from './streams.ts';

/** ctx for one cell: methods live on the prototype, so a context costs one small object. */
export class CellContext implements ActorContext<unknown> {
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
