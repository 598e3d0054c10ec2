import { defineActor, type ActorContext, type ActorRef, type Asks, type ReplyHandle } from '@actorfs/actors';
import type { ClientEvent, HandleId, LsClient } from '@actorfs/lockservice';
import type { MasterMsg } from '../protocol.ts';
import { masterLockPath, type LockCellRef } from './ha-config.ts';
import { decodeMasterFile, masterRefOf } from './ha-protocol.ts';
import { childLockSession, directoryOf } from './lock-session.ts';

export type MasterChanged = { type: 'master-changed'; master: ActorRef<MasterMsg> | null };

export type LocatorMsg =
  /** The master's address as cached (looked up first when unknown); null while the lock file names none. */
  | ({ type: 'where' } & Asks<ActorRef<MasterMsg> | null>)
  /** A request to `master` failed: unless the cache has moved on, it is dropped and looked up again. */
  | ({ type: 'suspect'; master: ActorRef<MasterMsg> } & Asks<true>)
  | { type: 'locator-poll' }
  | { type: 'looked-up'; session: number; master: ActorRef<MasterMsg> | null; error?: string }
  | { type: 'locator-events'; session: number; events: ClientEvent[] };

export interface LocatorProps {
  lock: LockCellRef;
  /** The lock-service principal of this locator's session. */
  principal: string;
  /** Told of every change of the cached address. */
  subscriber?: ActorRef<MasterChanged>;
  /** Session events are polled this often. Default 50 ms. */
  pollMs?: number;
}

/** Callers waiting for a lookup at once; one more is answered null at once. */
const MAX_WAITERS = 10_000;

/**
 * Finds the GFS master through the lock service: reads the master lock file (the address the
 * master wrote there), caches it, and follows its changes through the file's events. The cache
 * is dropped when an event says the file changed, when the session is in trouble, or when a
 * caller reports that the cached master failed it.
 */
export const MasterLocator = defineActor('gfs.master-locator', (props: LocatorProps, ctx: ActorContext<LocatorMsg>) => {
  const locator = new Locator(props, ctx);
  return (msg: LocatorMsg) => locator.receive(msg);
});

/** The locator's state: its lock-service session, the cached address and the callers waiting for a lookup. */
class Locator {
  private readonly path: string;
  private session = 0;
  private ls!: LsClient;
  private sessionRef: ActorRef<never> | undefined;
  private handle: Promise<HandleId> | undefined;
  /** undefined: not known (a lookup is due); null: the file names no master. */
  private cached: ActorRef<MasterMsg> | null | undefined;
  private lookingUp = false;
  /** The file may have changed since the lookup in flight read it: its answer is not trusted, the file is read again. */
  private readAgain = false;
  private waiters: ReplyHandle[] = [];

  constructor(
    private readonly props: LocatorProps,
    private readonly ctx: ActorContext<LocatorMsg>,
  ) {
    this.path = masterLockPath(props.lock);
    this.newSession();
    this.lookUp();
    ctx.setTimer('poll', props.pollMs ?? 50, { type: 'locator-poll' }, { repeat: true });
  }

  receive(msg: LocatorMsg): void {
    const { ctx } = this;
    switch (msg.type) {
      case 'where': {
        if (this.cached) return ctx.reply(this.cached);
        const w = ctx.replyHandle(msg);
        if (!w) return;
        if (this.waiters.length >= MAX_WAITERS) return ctx.replyTo(w, null);
        this.waiters.push(w);
        return this.lookUp();
      }
      case 'suspect':
        if (this.cached && this.cached.node === msg.master.node && this.cached.id === msg.master.id) {
          this.cached = undefined;
          this.lookUp();
        }
        return ctx.reply(true);
      case 'locator-poll': {
        // no master known: look again (the file's event may have come before the handle was open)
        if (!this.cached) this.lookUp();
        const s = this.session;
        return ctx.pipeToSelf(this.ls.watch(), (r) => ({ type: 'locator-events', session: s, events: r.ok ? r.value.events : [] }));
      }
      case 'locator-events':
        return this.sessionEvents(msg.session, msg.events);
      case 'looked-up':
        this.lookingUp = false;
        if (msg.session !== this.session || this.readAgain) return this.lookUp();
        if (msg.error !== undefined) ctx.log.debug('master lookup failed', { error: msg.error });
        return this.learn(msg.master);
      default: {
        const never: never = msg;
        ctx.unhandled(never);
      }
    }
  }

  private newSession(): void {
    if (this.sessionRef) this.ctx.stop(this.sessionRef);
    this.session++;
    const s = childLockSession(this.ctx, this.props.lock, this.props.principal, `${this.ctx.self.id}-ls-session-${this.session}`);
    this.sessionRef = s.ref as ActorRef<never>;
    this.ls = s.client;
    this.handle = undefined;
  }

  private sessionEvents(session: number, events: ClientEvent[]): void {
    if (session !== this.session) return;
    const ended = events.some((e) => 'kind' in e && e.kind === 'expired');
    if (ended) this.newSession();
    if (ended || events.some((e) => 'kind' in e && (e.kind === 'contentsModified' || e.kind === 'handleInvalid' || e.kind === 'masterFailover'))) {
      this.cached = undefined;
      this.lookUp();
    }
  }

  private lookUp(): void {
    if (this.lookingUp) {
      this.readAgain = true;
      return;
    }
    this.readAgain = false;
    this.lookingUp = true;
    const s = this.session;
    this.ctx.pipeToSelf(this.read(), (r) => (r.ok ? { type: 'looked-up', session: s, master: r.value } : { type: 'looked-up', session: s, master: null, error: r.error.message }));
  }

  private async read(): Promise<ActorRef<MasterMsg> | null> {
    this.handle ??= (async () => {
      await this.ls.open(directoryOf(this.path), { create: 'ifAbsent', kind: 'dir' });
      return (await this.ls.open(this.path, { create: 'ifAbsent', events: ['contentsModified'] })).handle;
    })();
    const h = await this.handle.catch((err: unknown) => {
      this.handle = undefined;
      throw err;
    });
    const file = decodeMasterFile((await this.ls.getContentsAndStat(h)).contents);
    return file ? masterRefOf(file) : null;
  }

  private learn(master: ActorRef<MasterMsg> | null): void {
    const changed = this.cached === undefined || this.cached?.node !== master?.node || this.cached?.id !== master?.id;
    this.cached = master;
    if (changed && this.props.subscriber) this.ctx.send(this.props.subscriber, { type: 'master-changed', master });
    for (const w of this.waiters) this.ctx.replyTo(w, master);
    this.waiters = [];
  }
}
