import type { ActorContext, ActorRef } from '@actorfs/actors';
import { SequencerGuard } from '@actorfs/lockservice';
import type { ChunkserverMsg, Fenced, MasterMsg } from '../protocol.ts';

/**
 * A chunkserver's side of its master: where its reports go (with high availability, the master the
 * lock service names, and heartbeats to every replica so shadows learn locations too), and the
 * fence that refuses orders from a deposed master.
 */
export class MasterLink {
  private readonly fence = new SequencerGuard(1);

  constructor(
    private readonly ctx: ActorContext<ChunkserverMsg>,
    private master: ActorRef<MasterMsg>,
    private readonly replicas: ReadonlyArray<ActorRef<MasterMsg>>,
  ) {}

  get current(): ActorRef<MasterMsg> {
    return this.master;
  }

  /** An order from a master that carries a sequencer older than the newest seen is refused. */
  admit(msg: Fenced): void {
    if (msg.sequencer === undefined) return;
    const checked = this.fence.check(msg.sequencer);
    if (!checked.ok) throw new Error(`refused a master's order: ${checked.error.code}: ${checked.error.message}`);
  }

  tell(msg: MasterMsg): void {
    this.ctx.send(this.master, msg);
  }

  /** Sent once this turn's writes are durable. */
  tellWhenDurable(msg: MasterMsg): void {
    this.ctx.sendWhenDurable(this.master, msg);
  }

  /** A heartbeat goes to the master and to every other master replica. */
  heartbeat(report: MasterMsg): void {
    this.tell(report);
    for (const r of this.replicas) if (r.node !== this.master.node || r.id !== this.master.id) this.ctx.send(r, report);
  }

  moved(master: ActorRef<MasterMsg>): void {
    this.master = master;
  }
}
