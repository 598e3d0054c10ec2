import type { ActorRef } from '@actorfs/actors';
import type { ClientEvent, ClientMsg, ClientReply, ClientRequest, ClientResults, ClientStatus } from './client-protocol.ts';
import type { CreateMode, EventKind, HandleId, LockMode, NodeKind, Sequencer } from './protocol.ts';
import type { LsError } from './errors.ts';
import { localView, type LocalView } from './local-view.ts';
import type { LsClientErrorCode } from './server-protocol.ts';

/** Every failure of the client API: `code` says what went wrong (see LsErrorCode and ServiceErrorCode). */
export class LsClientError extends Error {
  override readonly name = 'LsClientError';
  /** LOCK_DELAY only: when the lock may be taken again (the cell's time). */
  readonly availableAt?: number;
  /** LOCK_DELAY only: how long from the refusal until the lock may be taken. */
  readonly retryAfterMs?: number;
  constructor(
    readonly code: LsClientErrorCode,
    message: string,
    details: { availableAt?: number; retryAfterMs?: number } = {},
  ) {
    super(`${code}: ${message}`);
    if (details.availableAt !== undefined) this.availableAt = details.availableAt;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** How the API reaches its session actor: system.ask, sim.call or ctx.ask, wrapped. */
export type SessionAsker = <K extends ClientMsg['type']>(ref: ActorRef<ClientMsg>, msg: ClientMsg & { type: K }) => Promise<unknown>;

export interface OpenOptions {
  create?: CreateMode;
  kind?: NodeKind;
  ephemeral?: boolean;
  contents?: Uint8Array;
  events?: EventKind[];
}

/** The promise API over one client-session actor. */
export class LsClient {
  private view: LocalView | undefined;

  constructor(
    readonly session: ActorRef<ClientMsg>,
    private readonly ask: SessionAsker,
  ) {}

  open(path: string, opts: OpenOptions = {}): Promise<ClientResults['open']> {
    return this.call({ type: 'open', path, ...opts });
  }
  async close(handle: HandleId): Promise<void> {
    await this.call({ type: 'close', handle });
  }
  /** From the session's cache without a message when the session actor runs on this thread and has it. */
  getContentsAndStat(handle: HandleId): Promise<ClientResults['getContentsAndStat']> {
    this.view ??= localView(this.session);
    const hit = this.view?.read(handle);
    if (hit) return Promise.resolve({ contents: hit.contents, stat: hit.stat, cached: true });
    // Looked up again next time: the actor may have been restarted with a new view.
    this.view = undefined;
    return this.call({ type: 'getContentsAndStat', handle });
  }
  /**
   * Asked again while its outcome is unknown; `repeated` says the answer is the one a copy already
   * applied had. A copy never applied, after a later write of the handle was, is refused
   * (ATTEMPT_DECIDED); one too old for the database's record of it, ATTEMPT_FORGOTTEN.
   */
  setContents(handle: HandleId, contents: Uint8Array, ifGeneration?: number): Promise<ClientResults['setContents']> {
    return this.call({ type: 'setContents', handle, contents, ...(ifGeneration === undefined ? {} : { ifGeneration }) });
  }
  async delete(handle: HandleId): Promise<void> {
    await this.call({ type: 'delete', handle });
  }
  async readdir(handle: HandleId): Promise<string[]> {
    return (await this.call<'readdir'>({ type: 'readdir', handle })).names;
  }
  async stat(handle: HandleId): Promise<ClientResults['stat']['stat']> {
    return (await this.call<'stat'>({ type: 'stat', handle })).stat;
  }
  /** Waits for the lock up to `timeoutMs` (TIMEOUT after), in arrival order with other waiters. */
  async acquire(handle: HandleId, mode: LockMode, timeoutMs: number, lockDelayMs?: number): Promise<Sequencer> {
    return (await this.call<'acquire'>({ type: 'acquire', handle, mode, timeoutMs, ...(lockDelayMs === undefined ? {} : { lockDelayMs }) })).sequencer;
  }
  /**
   * Takes the lock now or fails (LOCK_HELD, LOCK_DELAY). Called while another acquire of the
   * handle is granted, ATTEMPT_FORGOTTEN (whether it was granted before that, and released, is no
   * longer known; it is not granted now).
   */
  async tryAcquire(handle: HandleId, mode: LockMode, lockDelayMs?: number): Promise<Sequencer> {
    return (await this.call<'tryAcquire'>({ type: 'tryAcquire', handle, mode, ...(lockDelayMs === undefined ? {} : { lockDelayMs }) })).sequencer;
  }
  async release(handle: HandleId): Promise<void> {
    await this.call({ type: 'release', handle });
  }
  async getSequencer(handle: HandleId): Promise<Sequencer> {
    return (await this.call<'getSequencer'>({ type: 'getSequencer', handle })).sequencer;
  }
  /** Resolves if the sequencer is still current at the cell; STALE_SEQUENCER if not. */
  async checkSequencer(sequencer: Sequencer): Promise<void> {
    await this.call({ type: 'checkSequencer', sequencer });
  }
  async closeSession(): Promise<void> {
    await this.call({ type: 'closeSession' });
  }
  /**
   * Events delivered since the last call (database events for watched handles, and the session's
   * own). With `waitMs` and none yet, resolves as soon as one arrives (pushed, not polled), or
   * empty after waitMs; keep waitMs below the asker's own timeout.
   */
  async watch(opts: { waitMs?: number } = {}): Promise<{ events: ClientEvent[]; lost: boolean }> {
    return (await this.ask(this.session, { type: 'takeEvents', ...(opts.waitMs === undefined ? {} : { waitMs: opts.waitMs }) })) as { events: ClientEvent[]; lost: boolean };
  }
  async status(): Promise<ClientStatus> {
    return (await this.ask(this.session, { type: 'status' })) as ClientStatus;
  }

  private async call<K extends ClientRequest['type']>(req: ClientRequest & { type: K }): Promise<ClientResults[K]> {
    const reply = (await this.ask(this.session, { type: 'call', req })) as ClientReply;
    if (!reply.ok) throw new LsClientError(reply.error.code, reply.error.message, reply.error as LsError);
    return reply.result as ClientResults[K];
  }
}
