import { AskTimeoutError, type ActorContext, type ActorRef, type ReplyHandle } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import type { ChunkHandle } from '../master/records.ts';
import type { ChunkserverMsg, MasterMsg, MutateResult, MutationOrder } from '../protocol.ts';
import { ChunkStoreError, type ChunkBlockStore } from './block-store.ts';
import type { PushBuffer } from './push-buffer.ts';

/**
 * A refusal the client cures by asking again (after fresh locations, a new lease or a new push):
 * no lease here, a stale version, pushed data missing, a secondary that failed, a full queue.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/** A record longer than maxRecordBytes: never retried. */
export class OversizeRecordError extends Error {
  override readonly name = 'OversizeRecordError';
}

/** The primary takes its lease to end this fraction of its length early: clocks drift, and the grant spent time in flight. */
const LEASE_DRIFT_MARGIN = 0.1;
/** Asks of one order to a secondary whose answer is lost, at most. */
const APPLY_ATTEMPTS = 3;
/**
 * Mutations of one chunk the primary has in flight at once (applied here, on their way to the
 * secondaries or being synced); the next waits in the queue. Several in flight keep every
 * replica's disk busy while earlier ones are acknowledged.
 */
export const MUTATIONS_IN_FLIGHT_PER_CHUNK = 4;
/** Serials a secondary remembers per chunk as applied above the primary's done mark (more only if the primary's mark stalls); beyond it the oldest is forgotten. */
const MAX_REMEMBERED_SERIALS = 1024;

interface HeldLease {
  version: number;
  secondaries: Array<ActorRef<ChunkserverMsg>>;
  expiresAtMs: number;
  extensionAskedMs: number;
}

type MutateMsg = Extract<ChunkserverMsg, { type: 'mutate' }>;

interface InFlight {
  waiter: ReplyHandle<MutateResult>;
  result: MutateResult;
  /** The chunk bytes a write covers (undefined for appends and padding, which go past every byte in flight). */
  region: { from: number; to: number } | undefined;
  localDurable: boolean;
  /** undefined while secondaries apply; then '' (all applied) or the first failure. */
  secondaries: string | undefined;
}

/** The primary's order of one chunk's mutations (kept while any is queued or in flight). */
interface ChunkOrder {
  version: number;
  queue: Array<{ msg: MutateMsg; waiter: ReplyHandle<MutateResult> }>;
  /** By serial, in serial order. */
  inFlight: Map<number, InFlight>;
  /** Revocations to acknowledge once no mutation is in flight. */
  revoked: Array<() => void>;
}

/** A secondary's record of one chunk's applied orders, within one primary run and chunk version. */
interface AppliedOrders {
  run: number;
  version: number;
  /** Every serial below it is finished at the primary (applied here, or given up): one arriving late is not applied. */
  doneBelow: number;
  /** Serials at or above doneBelow applied here. */
  serials: Set<number>;
}

/**
 * Mutations, as the paper orders them. The primary (holding the master's lease) gives each of a
 * chunk's mutations the next serial number, applies it, and has every secondary apply it; the
 * client hears once the primary's write is durable and every secondary applied it, or gets an
 * error (the region may then differ between replicas, and the client retries).
 *
 * Up to MUTATIONS_IN_FLIGHT_PER_CHUNK run at once, and they may finish in any order. Serial order
 * still holds on every replica where it matters: a write that overlaps one in flight waits for it
 * (and everything queued waits behind it), so mutations in flight together touch disjoint bytes
 * (appends and padding start past all of them) and give the same chunk in whatever order a
 * secondary applies them. A secondary applies each serial once, and none the primary has finished
 * with (a late copy of a failed order must not land after a later write to its bytes). Other
 * chunks proceed meanwhile, and the mailbox is never held.
 */
export class Mutations {
  private readonly leases = new Map<ChunkHandle, HeldLease>();
  private readonly orders = new Map<ChunkHandle, ChunkOrder>();
  /** Secondary side: the orders applied per chunk. */
  private readonly applied = new Map<ChunkHandle, AppliedOrders>();
  /**
   * This run's serials: increasing over all chunks, so a chunk's order can be forgotten while it
   * is idle. A restarted primary (which may be handed the same lease again) draws a new run, so
   * its serials never pass for duplicates of the last run's.
   */
  private readonly run: number;
  private nextSerial = 1;

  constructor(
    private readonly ctx: ActorContext<ChunkserverMsg>,
    private readonly store: ChunkBlockStore,
    private readonly buffer: PushBuffer,
    private readonly config: GfsConfig,
    private master: ActorRef<MasterMsg>,
    private readonly server: ServerId,
  ) {
    // (the start time too: a simulated node's random stream starts over when it restarts)
    this.run = Math.floor(ctx.random() * 2 ** 32) * 2 ** 21 + (Math.floor(ctx.now()) % 2 ** 21);
  }

  /** A new master (high availability): lease extensions go there from now on. */
  masterMoved(master: ActorRef<MasterMsg>): void {
    this.master = master;
  }

  leaseGranted(msg: Extract<ChunkserverMsg, { type: 'lease-granted' }>): void {
    const { handle, version, durationMs } = msg;
    if (!Number.isSafeInteger(handle) || !Number.isSafeInteger(version) || !(durationMs > 0) || !Array.isArray(msg.replicas)) {
      throw new Error('lease-granted: bad handle, version, duration or replicas');
    }
    const expiresAtMs = this.ctx.now() + durationMs * (1 - LEASE_DRIFT_MARGIN);
    const held = this.leases.get(handle)?.version === version ? this.leases.get(handle) : undefined;
    // within a version the set only grows (a replica the master learns of later may hold the
    // version since the grant), and a late copy of an older grant does not shorten the lease
    const secondaries = [...(held?.secondaries ?? [])];
    for (const r of msg.replicas) if (!r.equals(this.ctx.self) && !secondaries.some((s) => s.equals(r))) secondaries.push(r);
    this.leases.set(handle, { version, secondaries, expiresAtMs: Math.max(held?.expiresAtMs ?? 0, expiresAtMs), extensionAskedMs: held?.extensionAskedMs ?? -Infinity });
  }

  /**
   * Orders no more mutations of the chunk under this lease: queued ones are refused (their
   * clients retry); `acknowledge` runs once the one in flight, if any, is done on every replica,
   * so a snapshot waiting on it sees no mutation land after.
   */
  revoke(handle: ChunkHandle, acknowledge: () => void): void {
    this.leases.delete(handle);
    const order = this.orders.get(handle);
    for (const { waiter } of order?.queue.splice(0) ?? []) this.ctx.replyErrorTo(waiter, new RetryableError(`chunk ${handle}: the lease was revoked; ask the master again`));
    if (order && order.inFlight.size > 0) order.revoked.push(acknowledge);
    else acknowledge();
  }

  mutate(msg: MutateMsg, waiter: ReplyHandle<MutateResult>): void {
    if (typeof msg.dataId !== 'string') throw new Error('mutate: dataId must be a string');
    if (msg.op?.kind === 'write' && !(Number.isSafeInteger(msg.op.offset) && msg.op.offset >= 0)) throw new Error(`mutate: bad offset ${String(msg.op.offset)}`);
    if (msg.op?.kind !== 'write' && msg.op?.kind !== 'append') throw new Error('mutate: op must be a write or an append');
    this.checkLease(msg.handle, msg.version);
    let order = this.orders.get(msg.handle);
    if (!order || order.version !== msg.version) {
      if (order && order.inFlight.size > 0) throw new RetryableError(`chunk ${msg.handle}: a mutation of version ${order.version} is still in flight`);
      order = { version: msg.version, queue: [], inFlight: new Map(), revoked: [] };
      this.orders.set(msg.handle, order);
    }
    if (order.queue.length >= this.config.maxQueuedMutations) throw new RetryableError(`chunk ${msg.handle}: ${this.config.maxQueuedMutations} mutations already wait`);
    order.queue.push({ msg, waiter });
    this.startNext(msg.handle, order);
  }

  /** The primary's own write of `serial` is durable. */
  localDurable(handle: ChunkHandle, serial: number): void {
    const f = this.orders.get(handle)?.inFlight.get(serial);
    if (!f) return;
    f.localDurable = true;
    this.finishIfDone(handle, serial);
  }

  /** Every secondary answered `serial` (error: the first failure). */
  secondariesDone(handle: ChunkHandle, serial: number, error: string | undefined): void {
    const f = this.orders.get(handle)?.inFlight.get(serial);
    if (!f) return;
    f.secondaries = error ?? '';
    this.finishIfDone(handle, serial);
  }

  /**
   * A secondary applies the primary's order, refusing a version other than its own; a serial it
   * applied already, or one the primary has finished with (below doneBelow), is not applied again.
   */
  apply(msg: Extract<ChunkserverMsg, { type: 'apply' }>): void {
    if (!Number.isSafeInteger(msg.serial) || msg.serial < 1) throw new Error(`apply: bad serial ${String(msg.serial)}`);
    if (!Number.isSafeInteger(msg.doneBelow) || msg.doneBelow > msg.serial) throw new Error(`apply: bad doneBelow ${String(msg.doneBelow)} for serial ${msg.serial}`);
    const info = this.store.info(msg.handle);
    if (!info) throw new RetryableError(`chunk ${msg.handle} is not here`);
    if (info.version !== msg.version) throw new RetryableError(`chunk ${msg.handle}: this replica is at version ${info.version}, the order is for ${msg.version}`);
    let seen = this.applied.get(msg.handle);
    // a new lease starts a new record: a restarted primary may draw its old run again (the
    // simulator's random stream restarts with the node), and its serials start again from 1
    if (seen?.run !== msg.run || seen.version !== msg.version) {
      seen = { run: msg.run, version: msg.version, doneBelow: 0, serials: new Set() };
      this.applied.set(msg.handle, seen);
    }
    if (msg.doneBelow > seen.doneBelow) {
      seen.doneBelow = msg.doneBelow;
      for (const s of seen.serials) if (s < seen.doneBelow) seen.serials.delete(s);
    }
    if (msg.serial < seen.doneBelow || seen.serials.has(msg.serial)) return this.ctx.replyWhenDurable(true);
    this.applyOrder(msg.handle, msg.order);
    if (seen.serials.size >= MAX_REMEMBERED_SERIALS) seen.serials.delete(Math.min(...seen.serials));
    seen.serials.add(msg.serial);
    this.ctx.replyWhenDurable(true);
  }

  private checkLease(handle: ChunkHandle, version: number): HeldLease {
    const info = this.store.info(handle);
    if (!info) throw new RetryableError(`chunk ${handle} is not here`);
    const lease = this.leases.get(handle);
    const now = this.ctx.now();
    if (!lease || lease.expiresAtMs <= now) throw new RetryableError(`chunk ${handle}: this server holds no lease for it`);
    if (lease.version !== info.version || version !== info.version) {
      throw new RetryableError(`chunk ${handle}: the client has version ${version}, the lease ${lease.version}, this replica ${info.version}`);
    }
    // ask for more while mutations go on, well before the end, once per quarter lease
    const quarter = this.config.leaseMs / 4;
    if (lease.expiresAtMs - now < 2 * quarter && lease.extensionAskedMs + quarter <= now) {
      lease.extensionAskedMs = now;
      this.ctx.send(this.master, { type: 'extend-lease', server: this.server, handle });
    }
    return lease;
  }

  /** Starts queued mutations while fewer than the limit are in flight and the next touches no byte of one in flight. */
  private startNext(handle: ChunkHandle, order: ChunkOrder): void {
    while (order.queue.length > 0 && order.inFlight.size < MUTATIONS_IN_FLIGHT_PER_CHUNK) {
      const { msg, waiter } = order.queue[0]!;
      const region = this.writeRegion(msg);
      if (region && [...order.inFlight.values()].some((f) => f.region && f.region.from < region.to && region.from < f.region.to)) return;
      order.queue.shift();
      let planned: { order: MutationOrder; result: MutateResult };
      let secondaries: Array<ActorRef<ChunkserverMsg>>;
      try {
        secondaries = this.checkLease(handle, msg.version).secondaries;
        planned = this.plan(msg);
        this.applyOrder(handle, planned.order);
      } catch (err) {
        this.ctx.replyErrorTo(waiter, err instanceof Error ? err : String(err));
        continue;
      }
      const serial = this.nextSerial++;
      order.inFlight.set(serial, { waiter, result: planned.result, region, localDurable: false, secondaries: secondaries.length === 0 ? '' : undefined });
      this.ctx.sendWhenDurable(this.ctx.self, { type: 'mutation-durable', handle, serial });
      if (secondaries.length > 0) {
        // the oldest serial in flight: every one below it is finished here
        const doneBelow = order.inFlight.keys().next().value!;
        const apply = { type: 'apply' as const, handle, version: order.version, run: this.run, serial, doneBelow, order: planned.order };
        this.ctx.pipeToSelf(Promise.all(secondaries.map((s) => this.askApply(s, apply))), (r) => ({
          type: 'mutation-applied',
          handle,
          serial,
          ...(r.ok ? {} : { error: r.error.message }),
        }));
      }
    }
    if (order.queue.length === 0 && order.inFlight.size === 0) this.orders.delete(handle);
  }

  /** The chunk bytes a write would cover (its data must be here; else it fails when started, touching nothing). */
  private writeRegion(msg: MutateMsg): { from: number; to: number } | undefined {
    if (msg.op.kind !== 'write') return undefined;
    const length = this.buffer.lengthOf(msg.dataId) ?? 0;
    return { from: msg.op.offset, to: msg.op.offset + length };
  }

  /** Forgets what is kept of a deleted chunk. */
  forget(handle: ChunkHandle): void {
    this.leases.delete(handle);
    this.applied.delete(handle);
  }

  /** Where the mutation goes: a write where the client said; an append at the chunk's end, or padding if it would cross it. */
  private plan(msg: MutateMsg): { order: MutationOrder; result: MutateResult } {
    const length = this.buffer.lengthOf(msg.dataId);
    if (length === undefined) throw new RetryableError(`pushed data ${msg.dataId} is not here (push it again)`);
    const chunkEnd = this.config.chunkSizeBytes;
    switch (msg.op.kind) {
      case 'write':
        if (msg.op.offset + length > chunkEnd) throw new ChunkStoreError(msg.handle, `write of [${msg.op.offset}, ${msg.op.offset + length}) crosses the chunk's end at ${chunkEnd}`);
        return { order: { kind: 'write', offset: msg.op.offset, dataId: msg.dataId }, result: { offset: msg.op.offset } };
      case 'append': {
        if (length > this.config.maxRecordBytes) {
          this.buffer.drop(msg.dataId);
          throw new OversizeRecordError(`record of ${length} bytes is over the limit of ${this.config.maxRecordBytes} (a quarter of a chunk)`);
        }
        const offset = this.store.info(msg.handle)!.lengthBytes;
        if (offset + length > chunkEnd) {
          this.buffer.drop(msg.dataId);
          return { order: { kind: 'pad', toLength: chunkEnd }, result: { chunkFull: true } };
        }
        return { order: { kind: 'write', offset, dataId: msg.dataId }, result: { offset } };
      }
      default: {
        const never: never = msg.op;
        throw new Error(`unknown op ${String(never)}`);
      }
    }
  }

  private applyOrder(handle: ChunkHandle, order: MutationOrder): void {
    switch (order.kind) {
      case 'write': {
        const data = this.buffer.take(order.dataId);
        if (!data) throw new RetryableError(`pushed data ${order.dataId} is not here (push it again)`);
        this.store.write(handle, order.offset, data);
        return;
      }
      case 'pad': {
        const length = this.store.info(handle)!.lengthBytes;
        if (length < order.toLength) this.store.write(handle, length, new Uint8Array(order.toLength - length));
        return;
      }
      default: {
        const never: never = order;
        throw new Error(`unknown order ${String(never)}`);
      }
    }
  }

  /** Asks again when the answer is lost (the secondary applies a serial once); a refusal is final. */
  private async askApply(secondary: ActorRef<ChunkserverMsg>, apply: Extract<ChunkserverMsg, { type: 'apply' }>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ctx.ask(secondary, apply, { timeoutMs: this.config.mutationTimeoutMs });
        return;
      } catch (err) {
        if (!(err instanceof AskTimeoutError) || attempt >= APPLY_ATTEMPTS) throw new RetryableError(`secondary ${secondary.toString()} did not apply serial ${apply.serial}: ${String(err)}`);
      }
    }
  }

  private finishIfDone(handle: ChunkHandle, serial: number): void {
    const order = this.orders.get(handle)!;
    const f = order.inFlight.get(serial)!;
    if (!f.localDurable || f.secondaries === undefined) return;
    order.inFlight.delete(serial);
    if (f.secondaries === '') this.ctx.replyTo(f.waiter, f.result);
    else this.ctx.replyErrorTo(f.waiter, new RetryableError(`chunk ${handle}: the mutation is applied on some replicas only (retry): ${f.secondaries}`));
    if (order.inFlight.size === 0) for (const acknowledge of order.revoked.splice(0)) acknowledge();
    this.startNext(handle, order);
  }
}
