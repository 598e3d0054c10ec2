import type { ActorRef } from '@actorfs/actors';
import type { ProposeReply, ProposerMsg } from './messages.ts';

/** How the client reaches a proposer: system.ask, ctx.ask or sim.ask, wrapped. */
export type Asker = (ref: ActorRef<ProposerMsg>, msg: ProposerMsg, timeoutMs: number) => Promise<ProposeReply>;

export interface PaxosClientOptions {
  /**
   * Unique per client: with seq it makes retries exactly-once. A client that restarts must use a
   * new id, or pass a firstSeq above every seq it used before: the group answers a seq it has
   * seen with that command's first result.
   */
  clientId: string;
  /** The seq of the first command is firstSeq + 1. Default 0. */
  firstSeq?: number;
  proposers: ActorRef<ProposerMsg>[];
  ask: Asker;
  /** Waits between attempts (ctx.sleep inside an actor, a timer outside). */
  sleep: (ms: number) => Promise<void>;
  /** Per attempt. Default 1000. */
  timeoutMs?: number;
  /** Default 30. */
  maxAttempts?: number;
  /** First backoff after an attempt that found no leader; it doubles each time. Default 20. */
  backoffMs?: number;
  /**
   * The most one backoff grows to. Default 1000: with the other defaults the client keeps trying
   * for about 25 s, long enough to ride out a leader change (a lease term plus an election).
   */
  maxBackoffMs?: number;
}

export class PaxosUnavailableError extends Error {
  override readonly name = 'PaxosUnavailableError';
}

/** The group refused the operation itself (malformed, too large, a stale retry): not retried. */
export class PaxosRefusedError extends Error {
  override readonly name = 'PaxosRefusedError';
}

/**
 * The client API: `propose(op)` resolves with the result of applying op, exactly once however
 * often it is retried; `read(query)` is a linearizable read served under the leader's lease.
 * It follows leader hints, tries the next proposer on timeouts, and backs off when no one leads.
 * One operation at a time per client (make more clients for concurrency).
 */
export class PaxosClient {
  private seq: number;
  private leader: ActorRef<ProposerMsg> | undefined;
  private next = 0;
  private busy = false;

  constructor(private readonly opts: PaxosClientOptions) {
    this.seq = opts.firstSeq ?? 0;
  }

  get clientId(): string {
    return this.opts.clientId;
  }

  propose(op: unknown): Promise<unknown> {
    const cmd = { client: this.opts.clientId, seq: ++this.seq, op };
    return this.attempt({ type: 'propose', cmd });
  }

  read(query: unknown): Promise<unknown> {
    return this.attempt({ type: 'read', query });
  }

  private async attempt(msg: ProposerMsg): Promise<unknown> {
    if (this.busy) throw new Error(`client ${this.opts.clientId} already has an operation in flight`);
    this.busy = true;
    try {
      const { proposers, ask, sleep, timeoutMs = 1000, maxAttempts = 30, backoffMs = 20, maxBackoffMs = 1000 } = this.opts;
      let lastReason = 'no attempt';
      let backoff = backoffMs;
      // Proposers that failed this operation: a hint naming one (a dead leader, say) is not followed.
      const failed = new Set<string>();
      const wait = async (): Promise<void> => {
        await sleep(backoff);
        backoff = Math.min(maxBackoffMs, backoff * 2);
      };
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const target = this.leader ?? proposers[this.next % proposers.length]!;
        let reply: ProposeReply;
        try {
          reply = await ask(target, msg, timeoutMs);
        } catch (err) {
          lastReason = err instanceof Error ? err.message : String(err);
          failed.add(target.toString());
          this.forget();
          await wait();
          continue;
        }
        if (reply.ok) {
          this.leader = target;
          return reply.result;
        }
        lastReason = reply.reason;
        if (reply.refused) throw new PaxosRefusedError(reply.reason);
        if (reply.leader && !reply.leader.equals(target) && !failed.has(reply.leader.toString())) {
          this.leader = reply.leader;
          continue;
        }
        this.forget();
        await wait();
      }
      throw new PaxosUnavailableError(`no answer after ${maxAttempts} attempts: ${lastReason}`);
    } finally {
      this.busy = false;
    }
  }

  private forget(): void {
    this.leader = undefined;
    this.next++;
  }
}
