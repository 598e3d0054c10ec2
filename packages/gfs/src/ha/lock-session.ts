import type { ActorContext, ActorRef } from '@actorfs/actors';
import { ClientSession, LsClient, type ClientMsg } from '@actorfs/lockservice';
import type { LockCellRef } from './ha-config.ts';

/** Asks to the session wait at most this long (a blocking acquire passes its own, shorter, timeout). */
const SESSION_ASK_TIMEOUT_MS = 10 * 60_000;

/** A lock-service session as a child of the calling actor, with the promise API over ctx.ask. */
export function childLockSession<M>(ctx: ActorContext<M>, lock: LockCellRef, principal: string, name: string): { ref: ActorRef<ClientMsg>; client: LsClient } {
  const ref = ctx.spawn(ClientSession, { config: lock.config, servers: lock.servers, principal }, { name });
  const client = new LsClient(ref, (r, msg) => ctx.ask(r, msg as ClientMsg & { type: 'status' }, { timeoutMs: SESSION_ASK_TIMEOUT_MS }));
  return { ref, client };
}

/** The parent directory of a lock file (created if missing before the file is opened). */
export function directoryOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}
