import { LsClientError, type HandleId, type LsClient, type Sequencer } from '@actorfs/lockservice';
import { decodeMasterFile, encodeMasterFile, type MasterFile } from './ha-protocol.ts';
import { directoryOf } from './lock-session.ts';

/** A blocking acquire waits this long before it is asked again (a campaign has no end). */
const ACQUIRE_WAIT_MS = 30_000;

export interface Won {
  handle: HandleId;
  sequencer: Sequencer;
  /** The replicas that, besides this one, hold every record the deposed master acknowledged. */
  inSync: string[];
}

/**
 * Waits for the master lock, then takes office only if this replica holds every acknowledged
 * record: it was the master named in the file, or in its in-sync set (or the file is new). One
 * that is not releases the lock and tries again later. The winner writes its address, generation
 * and the in-sync set it starts with (the old one without itself) into the file.
 */
export async function campaign(opts: {
  ls: LsClient;
  path: string;
  self: string;
  address: MasterFile['master'];
  retryMs: number;
  sleep: (ms: number) => Promise<void>;
  onIneligible: (prior: MasterFile) => void;
}): Promise<Won> {
  const { ls, path, self } = opts;
  await ls.open(directoryOf(path), { create: 'ifAbsent', kind: 'dir' });
  const { handle } = await ls.open(path, { create: 'ifAbsent' });
  for (;;) {
    let sequencer: Sequencer;
    try {
      sequencer = await ls.acquire(handle, 'exclusive', ACQUIRE_WAIT_MS);
    } catch (err) {
      if (err instanceof LsClientError && err.code === 'TIMEOUT') continue;
      throw err;
    }
    const prior = decodeMasterFile((await ls.getContentsAndStat(handle)).contents);
    if (prior && prior.name !== self && !prior.inSync.includes(self)) {
      opts.onIneligible(prior);
      await ls.release(handle);
      await opts.sleep(opts.retryMs);
      continue;
    }
    const inSync = (prior?.inSync ?? []).filter((n) => n !== self);
    await ls.setContents(handle, encodeMasterFile({ master: opts.address, name: self, generation: sequencer.generation, inSync }));
    return { handle, sequencer, inSync };
  }
}
