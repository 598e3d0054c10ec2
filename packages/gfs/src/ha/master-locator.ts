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
  const path = masterLockPath(props.lock);
  let session = 0;
  let ls: LsClient;
  let sessionRef: ActorRef<never> | undefined;
  let handle: Promise<HandleId> | undefined;
  /** undefined: not known (a lookup is due); null: the file names no master. */
  let cached: ActorRef<MasterMsg> | null | undefined;
  let lookingUp = false;
  /** The file may have changed since the lookup in flight read it: its answer is not trusted, the file is read again. */
  let readAgain = false;
  let waiters: ReplyHandle[] = [];

  const newSession = (): void => {
    if (sessionRef) ctx.stop(sessionRef);
    session++;
    const s = childLockSession(ctx, props.lock, props.principal, `${ctx.self.id}-ls-session-${session}`);
    sessionRef = s.ref as ActorRef<never>;
    ls = s.client;
    handle = undefined;
  };

  const lookUp = (): void => {
    if (lookingUp) {
      readAgain = true;
      return;
    }
    readAgain = false;
    lookingUp = true;
    const s = session;
    const read = async (): Promise<ActorRef<MasterMsg> | null> => {
      handle ??= (async () => {
        await ls.open(directoryOf(path), { create: 'ifAbsent', kind: 'dir' });
        return (await ls.open(path, { create: 'ifAbsent', events: ['contentsModified'] })).handle;
      })();
      const h = await handle.catch((err: unknown) => {
        handle = undefined;
        throw err;
      });
      const file = decodeMasterFile((await ls.getContentsAndStat(h)).contents);
      return file ? masterRefOf(file) : null;
    };
    ctx.pipeToSelf(read(), (r) => (r.ok ? { type: 'looked-up', session: s, master: r.value } : { type: 'looked-up', session: s, master: null, error: r.error.message }));
  };

  const learn = (master: ActorRef<MasterMsg> | null): void => {
    const changed = cached === undefined || cached?.node !== master?.node || cached?.id !== master?.id;
    cached = master;
    if (changed && props.subscriber) ctx.send(props.subscriber, { type: 'master-changed', master });
    for (const w of waiters) ctx.replyTo(w, master);
    waiters = [];
  };

  newSession();
  lookUp();
  ctx.setTimer('poll', props.pollMs ?? 50, { type: 'locator-poll' }, { repeat: true });

  return (msg: LocatorMsg) => {
    switch (msg.type) {
      case 'where': {
        if (cached) return ctx.reply(cached);
        const w = ctx.replyHandle(msg);
        if (!w) return;
        if (waiters.length >= MAX_WAITERS) return ctx.replyTo(w, null);
        waiters.push(w);
        return lookUp();
      }
      case 'suspect':
        if (cached && cached.node === msg.master.node && cached.id === msg.master.id) {
          cached = undefined;
          lookUp();
        }
        return ctx.reply(true);
      case 'locator-poll': {
        // no master known: look again (the file's event may have come before the handle was open)
        if (!cached) lookUp();
        const s = session;
        return ctx.pipeToSelf(ls.watch(), (r) => ({ type: 'locator-events', session: s, events: r.ok ? r.value.events : [] }));
      }
      case 'locator-events': {
        if (msg.session !== session) return;
        const ended = msg.events.some((e) => 'kind' in e && e.kind === 'expired');
        if (ended) newSession();
        if (ended || msg.events.some((e) => 'kind' in e && (e.kind === 'contentsModified' || e.kind === 'handleInvalid' || e.kind === 'masterFailover'))) {
          cached = undefined;
          lookUp();
        }
        return;
      }
      case 'looked-up':
        lookingUp = false;
        if (msg.session !== session || readAgain) return lookUp();
        if (msg.error !== undefined) ctx.log.debug('master lookup failed', { error: msg.error });
        return learn(msg.master);
      default: {
        const never: never = msg;
        ctx.unhandled(never);
      }
    }
  };
});
