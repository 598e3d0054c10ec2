import { defineActor, type ActorContext, type ActorRef } from '@actorfs/actors';
import { gfsConfig, type GfsConfig } from '../config.ts';
import type { LockCellRef } from '../ha/ha-config.ts';
import { MasterLocator, type MasterChanged } from '../ha/master-locator.ts';
import type { MasterMsg } from '../protocol.ts';
import { ChunkIo } from './chunk-io.ts';
import { FileOps } from './file-ops.ts';
import type { ClientMsg } from './protocol.ts';
import { GfsClientError } from './retry.ts';

export interface ClientSessionProps {
  master: ActorRef<MasterMsg>;
  /** The client's rack: reads prefer a replica on the same node, then one on this rack. */
  rack?: string;
  /** Must match the cell's chunk size; the rest are the client's own timeouts and limits. */
  config?: Partial<GfsConfig>;
  /** With a highly available master: the session follows the master the lock service names (`master` is the first guess). */
  ha?: { lock: LockCellRef };
}

/**
 * A client session: the GFS client library as an actor, so the main thread (system.ask), the
 * simulator and any actor use it alike (GfsClient is the promise API over it). Each request runs
 * beside the mailbox, so many run at once, up to maxClientOps; beyond that a request is refused.
 */
export const ClientSession = defineActor('gfs.client', (props: ClientSessionProps, ctx: ActorContext<ClientMsg | MasterChanged>) => {
  const config = gfsConfig(props.config);
  const io = new ChunkIo(ctx, props.master, config, props.rack);
  if (props.ha) ctx.spawn(MasterLocator, { lock: props.ha.lock, principal: ctx.self.toString(), subscriber: ctx.self }, { name: `${ctx.self.id}-master-locator` });
  const ops = new FileOps(ctx, io, config);
  let running = 0;

  return (msg: ClientMsg | MasterChanged): void => {
    if (msg.type === 'master-changed') return void (msg.master && io.masterMoved(msg.master));
    const waiter = ctx.replyHandle();
    if (!waiter) return ctx.unhandled(msg);
    if (running >= config.maxClientOps) return ctx.replyErrorTo(waiter, new GfsClientError(`${config.maxClientOps} operations already run in this session`));
    running++;
    ops.run(msg)
      .then(
        (value) => ctx.replyTo(waiter, value),
        (err: unknown) => ctx.replyErrorTo(waiter, err instanceof Error ? err : String(err)),
      )
      .finally(() => running--);
  };
});
