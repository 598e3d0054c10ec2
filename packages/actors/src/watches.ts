import type { ActorCell } from './cell.ts';
import type { ActorNode } from './node.ts';
import { ActorRef, type AnyRef, refKey } from './ref.ts';

type SysMsg =
  | { t: 'watch'; target: string; watcher: AnyRef }
  | { t: 'unwatch'; target: string; watcher: AnyRef }
  | { t: 'terminated'; watcher: string; target: AnyRef };

/**
 * Death notices (ctx.watch) for one node: who watches whom, here and on other nodes through
 * `$sys` messages, and the watcher's chosen message, delivered once when its target stops or its
 * target's node goes down.
 */
export class Watches {
  constructor(
    private readonly node: ActorNode,
    private readonly cells: ReadonlyMap<string, ActorCell>,
  ) {}

  watch(cell: ActorCell, ref: AnyRef, msg: unknown): void {
    (cell.watching ??= new Map()).set(refKey(ref), { ref, msg });
    if (ref.node !== this.node.name) {
      const why = this.node.sendSystem(ref.node, '$sys', { t: 'watch', target: ref.id, watcher: cell.ref });
      if (why) this.terminatedNotice(cell.id, ref);
      return;
    }
    const target = this.cells.get(ref.id);
    if (target) (target.watchers ??= new Map()).set(refKey(cell.ref), cell.ref);
    else this.terminatedNotice(cell.id, ref);
  }

  unwatch(cell: ActorCell, ref: AnyRef): void {
    cell.watching?.delete(refKey(ref));
    if (ref.node === this.node.name) this.cells.get(ref.id)?.watchers?.delete(refKey(cell.ref));
    else this.node.transport.send(ref.node, '$sys', { t: 'unwatch', target: ref.id, watcher: cell.ref }, 0);
  }

  /** A cell stopped: its watchers are told, and what it watched forgets it. */
  stopped(cell: ActorCell): void {
    for (const w of cell.watchers?.values() ?? []) this.notifyTerminated(w, cell.ref);
    cell.watchers = undefined;
    for (const { ref } of cell.watching?.values() ?? []) {
      if (ref.node !== this.node.name) this.node.transport.send(ref.node, '$sys', { t: 'unwatch', target: ref.id, watcher: cell.ref }, 0);
      else this.cells.get(ref.id)?.watchers?.delete(refKey(cell.ref));
    }
    cell.watching = undefined;
  }

  /** Another node died: its actors are terminated for every watcher here. */
  nodeDown(node: string): void {
    for (const cell of [...this.cells.values()]) {
      for (const { ref } of [...(cell.watching?.values() ?? [])]) if (ref.node === node) this.terminatedNotice(cell.id, ref);
      for (const [k, w] of cell.watchers ?? []) if (w.node === node) cell.watchers!.delete(k);
    }
  }

  /** A `$sys` message from another node. */
  receive(from: string, body: unknown): void {
    // Checked, not cast: this runs in the port's message handler, where a throw kills the thread.
    if (!isSysMsg(body)) return this.node.deadLetter(new ActorRef(this.node.name, '$sys'), 'malformed', body, `from ${from}`);
    const m = body;
    switch (m.t) {
      case 'watch': {
        const target = this.cells.get(m.target);
        if (target) (target.watchers ??= new Map()).set(refKey(m.watcher), m.watcher);
        else this.node.transport.send(from, '$sys', { t: 'terminated', watcher: m.watcher.id, target: new ActorRef(this.node.name, m.target) }, 0);
        return;
      }
      case 'unwatch':
        this.cells.get(m.target)?.watchers?.delete(refKey(m.watcher));
        return;
      case 'terminated':
        this.terminatedNotice(m.watcher, m.target);
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown sys message ${String(never)}`);
      }
    }
  }

  private notifyTerminated(watcher: AnyRef, target: AnyRef): void {
    if (watcher.node === this.node.name) this.terminatedNotice(watcher.id, target);
    else this.node.transport.send(watcher.node, '$sys', { t: 'terminated', watcher: watcher.id, target }, 0);
  }

  /** Delivers the watcher's chosen message, once. */
  private terminatedNotice(watcherId: string, target: AnyRef): void {
    const cell = this.cells.get(watcherId);
    const entry = cell?.watching?.get(refKey(target));
    if (!cell || !entry) return;
    cell.watching!.delete(refKey(target));
    this.node.deliverLocal(watcherId, entry.msg, 0);
  }
}

function isSysMsg(m: unknown): m is SysMsg {
  if (typeof m !== 'object' || m === null) return false;
  const s = m as Record<string, unknown>;
  switch (s.t) {
    case 'watch':
    case 'unwatch':
      return typeof s.target === 'string' && s.watcher instanceof ActorRef;
    case 'terminated':
      return typeof s.watcher === 'string' && s.target instanceof ActorRef;
    default:
      return false;
  }
}
