import type { ActorContext, ActorRef } from '@actorfs/actors';
import { SequencerGuard } from '@actorfs/lockservice';
import type { ReportStamp } from '../master/report-order.ts';
import type { ChunkserverMsg, ChunkserverReport, Fenced, MasterMsg } from '../protocol.ts';

const INCARNATION_KEY = ['master-link', 'incarnation'];

/**
 * A chunkserver's side of its master: where its reports go (with high availability, the master the
 * lock service names, and heartbeats to every replica so shadows learn locations too), and the
 * fence that refuses orders from a deposed master. Every report is stamped with this start's
 * incarnation and a sequence number, so the master can tell a report sent before one it applied.
 */
export class MasterLink {
  private readonly fence = new SequencerGuard(1);
  /**
   * Greater than every earlier start's that reached the master: the clock, or one past the last
   * stored if the clock is behind it. No report goes out before it is synced: a start that crashed
   * before then (its stored value lost) sent none under it, so the next start may take it again.
   */
  private readonly incarnation: number;
  private incarnationSynced = false;
  private seq = 0;

  constructor(
    private readonly ctx: ActorContext<ChunkserverMsg>,
    private master: ActorRef<MasterMsg>,
    private readonly replicas: ReadonlyArray<ActorRef<MasterMsg>>,
  ) {
    this.incarnation = Math.max(Math.floor(ctx.now()), (ctx.storage.get<number>(INCARNATION_KEY) ?? -1) + 1);
    this.syncIncarnation();
  }

  /** Stores the incarnation, again if its commit failed. */
  private syncIncarnation(): void {
    this.ctx.storage.put(INCARNATION_KEY, this.incarnation);
    this.ctx.storage.flushed().then(
      () => void (this.incarnationSynced = true),
      () => this.syncIncarnation(),
    );
  }

  get current(): ActorRef<MasterMsg> {
    return this.master;
  }

  /** An order from a master that carries a sequencer older than the newest seen is refused. */
  admit(msg: Fenced): void {
    if (msg.sequencer === undefined) return;
    const checked = this.fence.check(msg.sequencer);
    if (!checked.ok) throw new Error(`refused a master's order: ${checked.error.code}: ${checked.error.message}`);
  }

  tell(msg: ChunkserverReport): void {
    this.send(this.master, this.stamped(msg));
  }

  /** Sent once this turn's writes are durable. */
  tellWhenDurable(msg: ChunkserverReport): void {
    this.ctx.sendWhenDurable(this.master, this.stamped(msg));
  }

  /** A heartbeat goes to the master and to every other master replica. */
  heartbeat(report: ChunkserverReport): void {
    const stamped = this.stamped(report);
    this.send(this.master, stamped);
    for (const r of this.replicas) if (r.node !== this.master.node || r.id !== this.master.id) this.send(r, stamped);
  }

  private send(to: ActorRef<MasterMsg>, report: ChunkserverReport): void {
    if (this.incarnationSynced) this.ctx.send(to, report);
    else this.ctx.sendWhenDurable(to, report);
  }

  private stamped(msg: ChunkserverReport): ChunkserverReport {
    const stamp: ReportStamp = { incarnation: this.incarnation, seq: this.seq++ };
    return { ...msg, stamp };
  }

  moved(master: ActorRef<MasterMsg>): void {
    this.master = master;
  }
}
