import { describe, expect, it } from '@jest/globals';
import { ActorRef } from '@actorfs/actors';
import { PaxosClient, type PaxosClientOptions } from '../src/client.ts';
import type { ProposerMsg } from '../src/messages.ts';

/** The waits a client sleeps between attempts when no proposer ever answers. */
async function waitsWithNoAnswer(opts: Partial<PaxosClientOptions>): Promise<number[]> {
  const waits: number[] = [];
  const client = new PaxosClient({
    clientId: 'backoff',
    proposers: [new ActorRef<ProposerMsg>('p', 'proposer')],
    ask: () => Promise.reject(new Error('no proposer')),
    sleep: async (ms) => void waits.push(ms),
    maxAttempts: 5,
    backoffMs: 20,
    maxBackoffMs: 100,
    ...opts,
  });
  await expect(client.propose({})).rejects.toThrow(/no answer after 5 attempts/);
  return waits;
}

describe('PaxosClient backoff', () => {
  it('doubles from backoffMs up to maxBackoffMs, without jitter by default', async () => {
    expect(await waitsWithNoAnswer({})).toEqual([20, 40, 80, 100, 100]);
  });

  it('draws each wait between half of its step and all of it from the random it is given', async () => {
    const draws = [0, 0.5, 0, 0.5, 0];
    expect(await waitsWithNoAnswer({ random: () => draws.shift()! })).toEqual([10, 30, 40, 75, 50]);
  });
});
