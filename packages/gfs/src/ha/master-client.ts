import { RemoteActorError, type ActorRef, type AskOptions, type MessageOf, type ReplyOf } from '@actorfs/actors';
import type { MasterMsg } from '../protocol.ts';
import type { MetadataRead, MetadataReadResults, ShadowAnswer } from './ha-protocol.ts';
import type { LocatorMsg } from './master-locator.ts';

/** system.ask, sim.ask or ctx.ask. */
export type Asker = <T, K extends string>(ref: ActorRef<T>, msg: T & { type: K }, opts?: AskOptions) => Promise<ReplyOf<MessageOf<T, K>>>;

export interface HaMasterClientOptions {
  locator: ActorRef<LocatorMsg>;
  ask: Asker;
  sleep: (ms: number) => Promise<void>;
  /** Shadows (and backups) to read metadata from when the master cannot be reached. */
  shadows?: ActorRef<MasterMsg>[];
  /** Per request. Default 2 s. */
  timeoutMs?: number;
  /** How long a request looks for a master that takes it, at most. Default 30 s. */
  findMasterMs?: number;
}

/**
 * The request did nothing (the replica is not the master): safe to send again. (A delivery error
 * is not such: an ask in flight when its node goes down fails the same way as one sent after.)
 */
function nothingDone(err: unknown): boolean {
  return err instanceof RemoteActorError && err.remoteName === 'NotMasterError';
}

/**
 * Talks to whichever replica is the GFS master: finds it through a MasterLocator, sends again
 * where nothing was done (no master known, or the replica is not the master), and tells the
 * locator when the master fails it. A request lost on the way fails (its outcome is unknown);
 * the next one goes to the master the lock service names then. Reads may fall back to shadows.
 */
export class HaMasterClient {
  /** The master as last found, kept until a request to it fails (the locator follows the lock file's events). */
  private master: ActorRef<MasterMsg> | null = null;

  constructor(private readonly opts: HaMasterClientOptions) {}

  /** The client's clock: a caller's backoff between its own retries. */
  sleep(ms: number): Promise<void> {
    return this.opts.sleep(ms);
  }

  async call<K extends string>(msg: MasterMsg & { type: K }): Promise<ReplyOf<MessageOf<MasterMsg, K>>> {
    const { ask, locator, sleep } = this.opts;
    const timeoutMs = this.opts.timeoutMs ?? 2_000;
    let waited = 0;
    let backoff = 20;
    for (;;) {
      // an unanswered 'where' (the locator busy or its answer lost) only means no master known yet
      const unanswered = () => ((waited += timeoutMs), null);
      const master = this.master ?? (this.master = await ask(locator, { type: 'where' }, { timeoutMs }).catch(unanswered));
      if (master) {
        try {
          return await ask<MasterMsg, K>(master, msg, { timeoutMs });
        } catch (err) {
          if (!nothingDone(err)) {
            if (!(err instanceof RemoteActorError)) await this.suspect(master); // lost on the way: the outcome is unknown
            throw err;
          }
          await this.suspect(master);
        }
      }
      if (waited >= (this.opts.findMasterMs ?? 30_000)) throw new Error(`no GFS master took ${msg.type} within ${waited} ms`);
      await sleep(backoff);
      waited += backoff;
      backoff = Math.min(backoff * 2, 500);
    }
  }

  /** A metadata read from the master, or, when it cannot be reached, from the first shadow that answers (with its lag). */
  async read<K extends MetadataRead['type']>(read: MetadataRead & { type: K }): Promise<ShadowAnswer<MetadataReadResults[K]>> {
    const timeoutMs = this.opts.timeoutMs ?? 2_000;
    const master = this.master ?? (await this.opts.ask(this.opts.locator, { type: 'where' }, { timeoutMs }).catch(() => null));
    let masterError: unknown = 'no master known';
    for (const replica of [...(master ? [master] : []), ...(this.opts.shadows ?? [])]) {
      try {
        return (await this.opts.ask(replica, { type: 'shadow-read', read }, { timeoutMs })) as ShadowAnswer<MetadataReadResults[K]>;
      } catch (err) {
        if (err instanceof RemoteActorError && err.remoteName !== 'NotMasterError') throw err; // it answered: the path is bad
        if (replica === master) {
          masterError = err;
          await this.suspect(master);
        }
      }
    }
    throw new Error(`neither the master nor a shadow answered ${read.type}: ${String(masterError)}`);
  }

  private async suspect(master: ActorRef<MasterMsg>): Promise<void> {
    if (this.master?.node === master.node && this.master.id === master.id) this.master = null;
    await this.opts.ask(this.opts.locator, { type: 'suspect', master }, { timeoutMs: this.opts.timeoutMs ?? 2_000 }).catch(() => undefined);
  }
}
