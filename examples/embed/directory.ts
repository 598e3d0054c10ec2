import { defineActor, hashString, type ActorContext, type Asks } from '@actorfs/actors';

export type DirectoryMsg = { type: 'place'; user: string; live: string[] } & Asks<string>;

/**
 * Which worker node keeps each user's counter. A count lives in its node's LMDB store, so a user
 * stays on the node first chosen for it, down or not; a new user goes to one of the nodes live
 * now, picked by a hash of its name. The directory runs on main, and its own store keeps the
 * placements across restarts of the server.
 */
export const UserDirectory = defineActor('embed.user-directory', (_props: Record<string, never>, ctx: ActorContext<DirectoryMsg>) => {
  return (msg: DirectoryMsg) => {
    const known = ctx.storage.get<string>(['user', msg.user]);
    if (known !== undefined) return ctx.replyWhenDurable(known);
    if (msg.live.length === 0) return ctx.replyError('no worker node is running');
    const node = msg.live[spread(msg.user) % msg.live.length]!;
    ctx.storage.put(['user', msg.user], node);
    return ctx.replyWhenDurable(node);
  };
});

/** A hash of the name with every bit mixed in (FNV-1a's low bits follow only its last characters). */
function spread(name: string): number {
  let h = hashString(name);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
