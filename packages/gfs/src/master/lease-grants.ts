import type { ReplyHandle } from '@actorfs/actors';
import type { ChunkserverMsg } from '../protocol.ts';
import type { ReplicaReport, ServerId } from './chunk-locations.ts';
import type { ChunkHandle } from './records.ts';

/** A lease grant waiting for the replicas to persist the raised version. */
export interface PendingGrant {
  version: number;
  awaiting: Set<ServerId>;
  raised: ServerId[];
  /** Every server the order went to and did not refuse: each may hold the new version, answered or not. */
  ordered: Set<ServerId>;
  waiters: ReplyHandle[];
  /** What the replicas are told (raise-version or copy-chunk); sent again while none has answered. */
  order: ChunkserverMsg;
}

/** What a grant comes to once its raises are answered (or its time is up with some answered). */
export type GrantOutcome =
  | { kind: 'lease'; primary: ServerId; version: number; waiters: ReplyHandle[] }
  /**
   * The lease would go out without servers that may hold its version (taken for dead before they
   * answered): the version is raised again, to `version`, on `targets` (those live at the old one),
   * and the waiters wait for that grant instead.
   */
  | { kind: 'raise-again'; version: number; targets: ServerId[]; left: ServerId[]; waiters: ReplyHandle[] }
  /** A snapshot shared the chunk while the grant ran: a lease now would let writes reach the snapshot's copy. */
  | { kind: 'shared'; waiters: ReplyHandle[] }
  | { kind: 'no-replica'; version: number; waiters: ReplyHandle[] };

/** What a grant's timeout comes to. */
export type GrantTimeout =
  | { kind: 'finish' }
  /** No replica answered: the waiters get an error (they ask again) and the order goes again to `resendTo`. */
  | { kind: 'again'; failed: ReplyHandle[]; resendTo: ServerId[] }
  /**
   * No replica answered and none of those asked is alive: the grant waits for a replica to report
   * (see takeIn), and fails the clients that joined it meanwhile at each timeout (`first`: it
   * stalled at this one).
   */
  | { kind: 'stalled'; failed: ReplyHandle[]; first: boolean };

/** What a grant's replicas hold before its order: the chunk a copy is made from at the snapshot's version, or the chunk itself one version below. */
function sourceOf(handle: ChunkHandle, g: PendingGrant): { handle: ChunkHandle; version: number } {
  return g.order.type === 'copy-chunk' ? { handle: g.order.from, version: g.order.fromVersion } : { handle, version: g.version - 1 };
}

/**
 * The master's lease grants in progress: per chunk, the raise sent to its replicas and the clients
 * waiting; and per chunk, the servers its last grant's raise went to that never answered (the
 * primary forwards mutations to them too, and they are not stale but late). No I/O: the master
 * sends the orders, keeps the timers and answers the waiters as the outcomes say.
 *
 * A lease at a version goes out only when every server that may hold that version is one the
 * primary forwards mutations to (raised and live, or late and alive); else the version is raised
 * again without the others (see finish). So a server holding a leased version without the writes
 * made under the lease cannot exist, and needs no record: the version the master logged is newer
 * than its own, and the ordinary rule (older is stale) holds it off after a restart or a failover
 * as the op log, checkpoints and backups already carry versions. (Logging such servers instead
 * would need a record synced before the lease's answer, kept in checkpoints and cleared by later
 * grants and clones: more to prove, for a case that costs one more raise only when a server died
 * mid-grant.) A late server that dies while the lease runs has its lease revoked (see serverDied),
 * as a live replica's is: the next lease raises the version again.
 */
export class LeaseGrants {
  private readonly grants = new Map<ChunkHandle, PendingGrant>();
  private readonly grantedTo = new Map<ChunkHandle, { version: number; servers: ServerId[] }>();

  constructor(private readonly maxWaiters: number) {}

  has(handle: ChunkHandle): boolean {
    return this.grants.has(handle);
  }

  get(handle: ChunkHandle): PendingGrant | undefined {
    return this.grants.get(handle);
  }

  handles(): IterableIterator<ChunkHandle> {
    return this.grants.keys();
  }

  /** A grant raising `handle` to `version` on `servers`; `order` is what they are told. */
  start(handle: ChunkHandle, version: number, servers: readonly ServerId[], waiters: ReplyHandle[], order: ChunkserverMsg): void {
    this.grants.set(handle, { version, awaiting: new Set(servers), raised: [], ordered: new Set(servers), waiters, order });
  }

  /** Another client waits for the running grant; refused at maxWaiters. */
  wait(handle: ChunkHandle, waiter: ReplyHandle): void {
    const g = this.grants.get(handle)!;
    if (g.waiters.length >= this.maxWaiters) throw new Error(`chunk ${handle}: ${this.maxWaiters} clients already wait for its lease`);
    g.waiters.push(waiter);
  }

  /**
   * A server persisted a raise: 'done' when no other is awaited, 'wait' while some are, 'ignored'
   * for no raise of this grant. One the master no longer knows (taken for dead) is awaited no
   * more, but does not count as raised: it is known again only through its next heartbeat.
   */
  raised(server: ServerId, handle: ChunkHandle, version: number, known: boolean): 'done' | 'wait' | 'ignored' {
    const g = this.grants.get(handle);
    if (!g || version !== g.version || !g.awaiting.delete(server) || !known) return 'ignored';
    g.raised.push(server);
    return g.awaiting.size === 0 ? 'done' : 'wait';
  }

  /**
   * Ends the grant: the lease goes to a replica that raised and is live at the new version
   * (`liveAtVersion`; one that raised may have died since), and those still awaited and alive are
   * remembered as late (see unanswered). If a server the order went to is neither (taken for dead
   * before it answered, or after), it may hold the version and would miss the lease's writes: no
   * lease goes out at this version, it is raised again on the live replicas (see the class).
   */
  finish(handle: ChunkHandle, liveAtVersion: readonly ServerId[], shared: boolean, isAlive: (id: ServerId) => boolean): GrantOutcome | undefined {
    const g = this.grants.get(handle);
    if (!g) return undefined;
    this.grants.delete(handle);
    if (shared) return { kind: 'shared', waiters: g.waiters };
    const primary = liveAtVersion.find((s) => g.raised.includes(s));
    if (primary === undefined) return { kind: 'no-replica', version: g.version, waiters: g.waiters };
    const late = [...g.awaiting].filter(isAlive);
    const left = [...g.ordered].filter((id) => !liveAtVersion.includes(id) && !late.includes(id)).sort();
    if (left.length > 0) return { kind: 'raise-again', version: g.version + 1, targets: [...liveAtVersion], left, waiters: g.waiters };
    this.grantedTo.set(handle, { version: g.version, servers: late });
    return { kind: 'lease', primary, version: g.version, waiters: g.waiters };
  }

  /**
   * With some replica raised, the lease goes out. With none, the round is not given up: the
   * master's version already moved on, so every replica would be stale and the chunk lost. The
   * waiting clients get an error and the order goes again to the replicas still alive.
   */
  timedOut(handle: ChunkHandle, isAlive: (id: ServerId) => boolean): GrantTimeout | undefined {
    const g = this.grants.get(handle);
    if (!g) return undefined;
    if (g.raised.length > 0) return { kind: 'finish' };
    const wasStalled = g.awaiting.size === 0;
    const failed = g.waiters;
    g.waiters = [];
    for (const id of g.awaiting) if (!isAlive(id)) g.awaiting.delete(id);
    if (g.awaiting.size === 0) return { kind: 'stalled', failed, first: !wasStalled };
    return { kind: 'again', failed, resendTo: [...g.awaiting] };
  }

  /**
   * A grant none of whose replicas answered takes in a replica reporting the version it raised
   * from (no lease went out at the new version, so that replica is current): for a raise, of the
   * chunk itself; for a copy after a snapshot, of the shared chunk it copies, at exactly the
   * snapshot's version (its only replicas may all have been taken for dead while the copy was
   * ordered). Returns the chunks whose order goes to `server` now.
   */
  takeIn(server: ServerId, reports: readonly ReplicaReport[]): ChunkHandle[] {
    const held = new Map(reports.map((r) => [r.handle, r.version]));
    const taken: ChunkHandle[] = [];
    for (const [handle, g] of this.grants) {
      if (g.raised.length > 0 || g.awaiting.has(server)) continue;
      const source = sourceOf(handle, g);
      if (held.get(source.handle) !== source.version) continue;
      g.awaiting.add(server);
      g.ordered.add(server);
      taken.push(handle);
    }
    return taken;
  }

  /**
   * A server refused a copy order (its source is at another version): it is awaited no more.
   * 'done' when it was the last one awaited and another raised, 'wait' otherwise, 'ignored' if
   * no running grant awaited it.
   */
  refused(server: ServerId, handle: ChunkHandle): 'done' | 'wait' | 'ignored' {
    const g = this.grants.get(handle);
    if (!g?.awaiting.delete(server)) return 'ignored';
    g.ordered.delete(server);
    return g.awaiting.size === 0 && g.raised.length > 0 ? 'done' : 'wait';
  }

  /** A copy of `handle` ordered after a snapshot is under way: raised now, it would be copied with writes made after the snapshot. */
  copyingFrom(handle: ChunkHandle): boolean {
    return this.copiesFrom(handle).length > 0;
  }

  /**
   * The copies of `handle` after a snapshot whose grants run, and whether each is stalled: no
   * server holds its order (none awaited, none raised; every one refused it or died), so no copy
   * of the shared chunk is being made anywhere.
   */
  copiesFrom(handle: ChunkHandle): Array<{ copy: ChunkHandle; stalled: boolean }> {
    const copies: Array<{ copy: ChunkHandle; stalled: boolean }> = [];
    for (const [copy, g] of this.grants) {
      if (g.order.type === 'copy-chunk' && g.order.from === handle) copies.push({ copy, stalled: g.awaiting.size === 0 && g.raised.length === 0 });
    }
    return copies;
  }

  /**
   * A stalled copy is made from its shared chunk's new version instead (the chunk was raised
   * again from older replicas, the only ones left): its grant raises the copy to `version` with
   * `order`, and takes in the servers that report the shared chunk at the version `order` names.
   */
  reaim(copy: ChunkHandle, version: number, order: Extract<ChunkserverMsg, { type: 'copy-chunk' }>): void {
    const g = this.grants.get(copy);
    if (g?.order.type !== 'copy-chunk' || g.awaiting.size > 0 || g.raised.length > 0) throw new Error(`chunk ${copy}: no stalled copy to aim again`);
    g.version = version;
    g.order = order;
    // a copy made at the old version by a server that then died is stale at the new one
    g.ordered.clear();
  }

  /** The servers the last grant at `version` went ahead without (the primary forwards to them too). */
  unanswered(handle: ChunkHandle, version: number): ServerId[] {
    const g = this.grantedTo.get(handle);
    return g?.version === version ? g.servers : [];
  }

  /**
   * A replica `server` reports at `reported` that is not stale but busy: a running grant's raise
   * awaits it, or the last grant (at `current`) went ahead without it and the raise is on its way
   * (deleted, it would leave the chunk fewer replicas, or none if the primary dies next).
   */
  awaits(server: ServerId, handle: ChunkHandle, reported: number | undefined, current: number | undefined): boolean {
    if (this.grants.get(handle)?.awaiting.has(server)) return true;
    const g = this.grantedTo.get(handle);
    return g !== undefined && g.version === current && reported === g.version - 1 && g.servers.includes(server);
  }

  /**
   * A server taken for dead: returns the chunks whose last grant it was late to. It may hold their
   * version, and a primary told of replicas without it would go on without it: their leases are
   * to be revoked, so the next lease raises the version again.
   */
  serverDied(server: ServerId): ChunkHandle[] {
    const late: ChunkHandle[] = [];
    for (const [handle, g] of this.grantedTo) {
      const i = g.servers.indexOf(server);
      if (i < 0) continue;
      g.servers.splice(i, 1);
      late.push(handle);
    }
    return late;
  }

  forget(handle: ChunkHandle): void {
    this.grantedTo.delete(handle);
  }

  /** Out of office: every grant ends; returns their waiters, to be failed. */
  clear(): ReplyHandle[] {
    const waiters = [...this.grants.values()].flatMap((g) => g.waiters);
    this.grants.clear();
    this.grantedTo.clear();
    return waiters;
  }
}
