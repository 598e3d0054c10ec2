import type { LsQuery, LsQueryResults } from '@actorfs/lockservice';
import type { Cluster } from './cluster.ts';

/** A question to the cell's database waits this long for a replica. */
const QUERY_TIMEOUT_MS = 2_000;

/**
 * A read of the lock cell's database, answered by its master under its lease: each running
 * replica is asked in turn (a follower refuses) until one answers; null when none does.
 */
export async function queryCell<Q extends LsQuery>(cluster: Cluster, query: Q): Promise<LsQueryResults[Q['type']] | null> {
  for (const server of cluster.cell.servers) {
    if (!cluster.isUp(server.node)) continue;
    const reply = await cluster.system.ask(server, { type: 'query', query }, { timeoutMs: QUERY_TIMEOUT_MS }).catch(() => null);
    if (reply?.ok) return reply.result as LsQueryResults[Q['type']];
  }
  return null;
}
