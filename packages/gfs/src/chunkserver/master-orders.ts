import type { ActorContext } from '@actorfs/actors';
import type { GfsConfig } from '../config.ts';
import type { ServerId } from '../master/chunk-locations.ts';
import type { ChunkHandle } from '../master/records.ts';
import type { ChunkserverMsg } from '../protocol.ts';
import type { ChunkBlockStore } from './block-store.ts';
import { cloneChunk, type CloneOrder } from './clone-chunk.ts';
import type { MasterLink } from './master-link.ts';
import type { Mutations } from './mutations.ts';

/** The master's orders about whole chunks, and the internal answer of a version raise. */
export type ChunkOrderMsg = Extract<ChunkserverMsg, { type: 'create-chunk' | 'creation-stored' | 'raise-version' | 'version-stored' | 'copy-chunk' | 'delete-chunks' | 'clone' }>;

/**
 * A chunkserver's handling of the master's chunk orders: create, raise a version, copy (after a
 * snapshot), delete, clone from another server. Each is answered to the master once durable.
 */
export class MasterOrders {
  /** Chunks being copied here now; a second order for one of them is ignored (the running copy answers). */
  private readonly cloning = new Set<ChunkHandle>();

  constructor(
    private readonly ctx: ActorContext<ChunkserverMsg>,
    private readonly store: ChunkBlockStore,
    private readonly master: MasterLink,
    private readonly mutations: Mutations,
    private readonly config: GfsConfig,
    private readonly server: ServerId,
  ) {}

  /** The chunks being cloned here now (a heartbeat reports them). */
  get clones(): Iterable<ChunkHandle> {
    return this.cloning;
  }

  receive(msg: ChunkOrderMsg): void {
    switch (msg.type) {
      case 'create-chunk':
        return this.createChunk(msg);
      case 'creation-stored':
        if (msg.error !== undefined) return this.ctx.log.warn('a new chunk was not stored', { handle: msg.handle, version: msg.version, error: msg.error });
        return this.master.tell({ type: 'chunk-created', server: this.server, handle: msg.handle, version: msg.version });
      case 'raise-version':
        return this.raiseVersion(msg);
      case 'version-stored':
        return this.versionStored(msg);
      case 'copy-chunk':
        return this.copyChunk(msg);
      case 'delete-chunks':
        return this.deleteChunks(msg);
      case 'clone':
        return this.clone(msg);
      default: {
        const never: never = msg;
        this.ctx.unhandled(never);
      }
    }
  }

  /** A new chunk is answered once its creation is durable, in a turn of its own (see creation-stored); one already here, once what is written of it is. */
  private createChunk(msg: Extract<ChunkOrderMsg, { type: 'create-chunk' }>): void {
    this.master.admit(msg);
    const created = { type: 'chunk-created' as const, server: this.server, handle: msg.handle, version: msg.version };
    if (this.store.info(msg.handle)) return this.master.tellWhenDurable(created);
    this.store.create(msg.handle, msg.version);
    this.ctx.pipeToSelf(this.store.creationsDurable(), (r) => ({
      type: 'creation-stored',
      handle: msg.handle,
      version: msg.version,
      ...(r.ok ? {} : { error: String(r.error) }),
    }));
  }

  private raiseVersion(msg: Extract<ChunkOrderMsg, { type: 'raise-version' }>): void {
    this.master.admit(msg);
    // (a copy under way takes its version from its clone order, with its data)
    if (!this.store.info(msg.handle) || this.cloning.has(msg.handle)) return;
    // answered in a turn of its own once durable (see version-stored)
    this.ctx.pipeToSelf(this.store.raiseVersion(msg.handle, msg.version), (r) => ({
      type: 'version-stored',
      handle: msg.handle,
      version: msg.version,
      raised: r.ok && r.value,
      ...(r.ok ? {} : { error: String(r.error) }),
    }));
  }

  private versionStored(msg: Extract<ChunkOrderMsg, { type: 'version-stored' }>): void {
    if (msg.error !== undefined) return this.ctx.log.warn('a raised version was not stored', { handle: msg.handle, version: msg.version, error: msg.error });
    if (msg.raised) this.master.tell({ type: 'version-raised', server: this.server, handle: msg.handle, version: msg.version });
  }

  /**
   * Copies only a source at the exact version the order names: one raised since was written to
   * after the snapshot, and those writes must not reach the snapshot's copy (a late or repeated order).
   */
  private copyChunk(msg: Extract<ChunkOrderMsg, { type: 'copy-chunk' }>): void {
    this.master.admit(msg);
    if (!Number.isSafeInteger(msg.fromVersion)) throw new Error(`copy-chunk ${msg.to}: bad source version ${JSON.stringify(msg.fromVersion)}`);
    const copied = { type: 'version-raised' as const, server: this.server, handle: msg.to, version: msg.version };
    if (this.store.info(msg.to)) return this.master.tellWhenDurable(copied);
    const held = this.store.info(msg.from)?.version ?? null;
    if (held !== msg.fromVersion) {
      this.ctx.log.warn('copy refused: its source is at another version', { handle: msg.to, from: msg.from, fromVersion: msg.fromVersion, heldVersion: held });
      return this.master.tell({ type: 'copy-refused', server: this.server, handle: msg.to, from: msg.from, fromVersion: msg.fromVersion, heldVersion: held });
    }
    this.store.copy(msg.from, msg.to, msg.version);
    this.master.tellWhenDurable(copied);
  }

  private deleteChunks(msg: Extract<ChunkOrderMsg, { type: 'delete-chunks' }>): void {
    this.master.admit(msg);
    for (const h of msg.handles) {
      if (this.store.info(h)) this.store.delete(h);
      this.mutations.forget(h);
    }
  }

  /** Runs beside the mailbox; the master hears clone-done once the copy is durable, or its error. */
  private clone(msg: CloneOrder): void {
    this.master.admit(msg);
    if (this.cloning.has(msg.handle)) return;
    this.cloning.add(msg.handle);
    const done = { type: 'clone-done' as const, server: this.server, handle: msg.handle, version: msg.version };
    void cloneChunk(this.ctx, this.store, this.config, msg).then(
      () => {
        this.cloning.delete(msg.handle);
        this.master.tellWhenDurable(done);
      },
      (err: unknown) => {
        this.cloning.delete(msg.handle);
        this.master.tell({ ...done, error: String(err) });
      },
    );
  }
}
