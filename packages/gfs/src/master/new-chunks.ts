import type { ServerId } from './chunk-locations.ts';
import type { Answer, MasterHost } from './master-host.ts';
import { placeNewChunk } from './placement.ts';
import type { ChunkHandle } from './records.ts';

/** A file gets a new last chunk (or, with `index`, the chunk there if it exists), placed on servers that are told to create it. */
export function addChunk(m: MasterHost, path: string, index: number | undefined, answer: Answer): void {
  const existing = m.fileChunks(path);
  if (index !== undefined) {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`add-chunk: bad index ${String(index)}`);
    const handle = existing[index];
    if (handle !== undefined) return answer.reply({ handle, replicas: m.locations.liveReplicas(handle, m.versionOf(handle)!) });
  }
  const now = m.ctx.now();
  const replicas = placeNewChunk([...m.servers.values()], m.config.replicas, m.recent, now);
  if (replicas.length === 0) throw new Error('no chunkserver can take a new chunk');
  const handle = m.metadata.newHandle();
  m.mutate({ type: 'add-chunk', path, handle });
  orderCreation(m, handle, replicas, now);
  answer.replyDurable({ handle, replicas });
}

/** Orders the servers placed for a new (empty, never leased) chunk to create it. */
export function orderCreation(m: MasterHost, handle: ChunkHandle, replicas: ServerId[], now: number): void {
  m.creating.ordered(handle, replicas, now);
  for (const id of replicas) {
    m.recent.record(id, now);
    // the chunk exists on a server only once the master's record of it is durable: never an orphan by a race
    m.ctx.sendWhenDurable(m.servers.get(id)!.ref, m.order({ type: 'create-chunk', handle, version: 1 }));
  }
}

/**
 * Creations unanswered for two heartbeats are ordered again (a raise since then follows on the
 * same link), also to a server taken for dead meanwhile once it is back: the orders may all have
 * been lost (a partition). Once some server holds the chunk at its version, re-replication
 * restores the rest (a copy made at version 1 after a grant raised the chunk is taken in by the
 * grant, which raises it too).
 */
export function createAgain(m: MasterHost, now: number): void {
  for (const { handle, servers: ids } of m.creating.due(now, 2 * m.config.heartbeatIntervalMs)) {
    const version = m.versionOf(handle);
    if (version === undefined || m.locations.liveReplicas(handle, version).length > 0) {
      m.creating.forget(handle);
      continue;
    }
    for (const id of ids) m.tell(id, { type: 'create-chunk', handle, version: 1 });
  }
}
