import type { ActorCell } from './cell.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { NodeStats } from './node-host.ts';

/** A node's figures: its actors' mailboxes (the ten deepest named), its message counters and the rest as given. */
export function nodeStats(
  node: string,
  cells: Iterable<ActorCell>,
  counters: { in: number; out: number; processed: number },
  rest: Pick<NodeStats, 'pendingAsks' | 'storage' | 'encodedBodies' | 'streams'> & { deadLetters: DeadLetters },
): NodeStats {
  let actors = 0;
  let total = 0;
  const depths: Array<{ actor: string; depth: number }> = [];
  for (const c of cells) {
    actors++;
    total += c.mailbox.length;
    if (c.mailbox.length > 0) depths.push({ actor: c.id, depth: c.mailbox.length });
  }
  depths.sort((a, b) => b.depth - a.depth);
  return {
    node,
    actors,
    messagesIn: counters.in,
    messagesOut: counters.out,
    processed: counters.processed,
    pendingAsks: rest.pendingAsks,
    mailboxTotal: total,
    deepestMailboxes: depths.slice(0, 10),
    deadLetters: { total: rest.deadLetters.total, byReason: { ...rest.deadLetters.counts } },
    storage: rest.storage,
    encodedBodies: rest.encodedBodies,
    streams: rest.streams,
  };
}
