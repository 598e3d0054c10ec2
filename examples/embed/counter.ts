import { defineActor, type ActorContext, type Asks } from '@actorfs/actors';

export type UserCounterMsg = ({ type: 'increment'; by: number } & Asks<number>) | ({ type: 'get' } & Asks<number>);

/**
 * One counter per user. Its value lives in the node's LMDB store, so it survives restarts; an
 * increment is answered only once it is durable, yet the actor keeps taking messages meanwhile
 * (many increments share one synced commit).
 */
export const UserCounter = defineActor('embed.user-counter', (_props: Record<string, never>, ctx: ActorContext<UserCounterMsg>) => {
  let count = ctx.storage.get<number>('count') ?? 0;
  return (msg: UserCounterMsg) => {
    switch (msg.type) {
      case 'increment':
        count += msg.by;
        ctx.storage.put('count', count);
        return ctx.replyWhenDurable(count);
      case 'get':
        return ctx.reply(count);
    }
  };
});
