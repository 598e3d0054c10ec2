import type { ActorContext, ReplyHandle } from '@actorfs/actors';
import { PaxosDomainError } from '@actorfs/paxos';
import { LockWaiters, type WaiterLimits, type WaitersEffect, type WaitersInput } from './lock-waiters.ts';
import { delayEnd, failed, refusal } from './master-replies.ts';
import type { FreedLock, LsOp, LsResult, SessionId } from './protocol.ts';
import type { ServerMsg, ServerReply } from './server-protocol.ts';
import { unreachable } from './unreachable.ts';

/** What the grants need of their master: its commit path and cache invalidation, and its timer. */
export interface GrantsMaster {
  /** Proposes under the master's term. */
  commit(op: LsOp): Promise<LsResult>;
  /** Runs `go` once other sessions' cached copies of `path` are gone (a grant changes its lock generation). */
  write(path: string, session: SessionId, go: () => void): void;
  /** The grant's write of `path` ended. */
  doneWriting(path: string): void;
  schedule(): void;
  stopped(): boolean;
}

/**
 * Blocking acquires at the master: each waits in `LockWaiters` (one try in flight per lock,
 * retried when the lock is freed or its lock-delay ends), and each try goes through the master's
 * commit path after other sessions' cached copies of the lock's node are gone.
 */
export class LockGrants {
  private readonly waiters: LockWaiters<ReplyHandle>;

  constructor(
    private readonly ctx: ActorContext<ServerMsg>,
    limits: WaiterLimits,
    private readonly master: GrantsMaster,
  ) {
    this.waiters = new LockWaiters(limits);
  }

  /** A blocking acquire of `lock`, answered to `to` when granted, refused or timed out. */
  acquire(lock: string, msg: Extract<ServerMsg, { type: 'acquire' }>, to: ReplyHandle): void {
    const waiter = { to, session: msg.session, handle: msg.handle, mode: msg.mode, deadline: this.ctx.now() + msg.timeoutMs, ...(msg.lockDelayMs === undefined ? {} : { lockDelayMs: msg.lockDelayMs }), ...(msg.attempt === undefined ? {} : { attempt: msg.attempt }) };
    this.step({ type: 'acquire', lock, waiter });
  }

  step(input: WaitersInput<ReplyHandle>): void {
    this.run(this.waiters.step(input, this.ctx.now()));
  }

  /** Locks the database freed: their waiters try again (at once, or when the lock-delay ends). */
  freed(freed: FreedLock[]): void {
    for (const f of freed) this.step({ type: 'freed', lock: f.path, availableAt: f.availableAt });
  }

  nextWakeAt(): number | undefined {
    return this.waiters.nextWakeAt();
  }

  private run(effects: WaitersEffect<ReplyHandle>[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'propose': {
          const { waiter, lock } = e;
          const { session, handle, mode, lockDelayMs, attempt } = waiter;
          const op: LsOp = { type: 'acquire', session, handle, mode, ...(lockDelayMs === undefined ? {} : { lockDelayMs }), ...(attempt === undefined ? {} : { attempt }) };
          // A grant changes the node's stat (lock generation): cached copies go first.
          this.master.write(lock, waiter.session, () => this.tryAcquire(op, lock, waiter.to));
          break;
        }
        case 'timedOut':
          this.reply(e.waiter.to, { ok: false, error: { code: 'TIMEOUT', message: `the lock was not granted within the acquire's timeout` } });
          break;
        case 'refuse':
          this.reply(e.waiter.to, { ok: false, error: refusal(e.reason) });
          break;
        default:
          unreachable(e, 'master waiters');
      }
    }
  }

  private tryAcquire(op: LsOp, lock: string, to: ReplyHandle): void {
    this.master.commit(op).then(
      (result) => {
        this.master.doneWriting(lock);
        this.reply(to, { ok: true, result });
        if (!this.master.stopped()) this.step({ type: 'tried', lock, outcome: 'granted' });
      },
      (err: unknown) => {
        this.master.doneWriting(lock);
        const code = err instanceof PaxosDomainError ? err.code : undefined;
        if (code !== 'LOCK_HELD' && code !== 'LOCK_DELAY') this.reply(to, failed(err));
        if (this.master.stopped()) return;
        const outcome =
          code === 'LOCK_HELD' ? { outcome: 'held' as const }
          : code === 'LOCK_DELAY' ? { outcome: 'delayed' as const, availableAt: delayEnd(err as PaxosDomainError, this.ctx.now()) }
          : { outcome: 'failed' as const };
        this.step({ type: 'tried', lock, ...outcome });
        this.master.schedule();
      },
    );
  }

  private reply(to: ReplyHandle, reply: ServerReply<unknown>): void {
    this.ctx.replyTo(to, reply);
  }
}
