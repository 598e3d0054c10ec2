import type { ReplyHandle } from '@actorfs/actors';
import type { MasterHost } from './master-host.ts';
import type { PendingCheckpoint } from './op-log.ts';

/** Checkpoint pieces written per commit: the mutations between them are never stopped for long. */
const CHECKPOINT_PIECES_PER_TURN = 4;
/** Explicit checkpoint requests waiting at once; one more is refused. */
const MAX_CHECKPOINT_WAITERS = 100;

/** A checkpoint being written, with the requests it answers and those that need the next one. */
export interface Checkpointing {
  pending: PendingCheckpoint;
  waiters: ReplyHandle[];
  again: ReplyHandle[];
}

/** An explicit checkpoint request: starts one, or waits for the next one after the running one. */
export function checkpointAsked(m: MasterHost): void {
  const waiter = m.ctx.replyHandle();
  const c = m.checkpointing;
  if (!c) return startCheckpoint(m, waiter ? [waiter] : []);
  if (c.waiters.length + c.again.length >= MAX_CHECKPOINT_WAITERS) throw new Error(`${MAX_CHECKPOINT_WAITERS} checkpoint requests already wait`);
  // the running one may not cover this request's records: another starts when it ends
  if (waiter) c.again.push(waiter);
}

/** Starts a checkpoint of the metadata as it is now; its pieces are written over the next turns. */
export function startCheckpoint(m: MasterHost, waiters: ReplyHandle[]): void {
  const pending = m.log.startCheckpoint(m.metadata, m.config.checkpointPieceRows);
  if (!pending) {
    for (const w of waiters) m.ctx.replyTo(w, 0);
    return;
  }
  m.checkpointing = { pending, waiters, again: [] };
  m.ctx.send(m.ctx.self, { type: 'checkpoint-step' });
}

export function checkpointStep(m: MasterHost): void {
  const c = m.checkpointing;
  if (!c) return;
  // the next pieces once these are synced: a checkpoint takes a bounded share of each commit
  if (!m.log.writePieces(c.pending, CHECKPOINT_PIECES_PER_TURN)) return m.ctx.sendWhenDurable(m.ctx.self, { type: 'checkpoint-step' });
  m.checkpointing = undefined;
  for (const w of c.waiters) m.replyWhenDurable(w, c.pending.pieces.length);
  if (c.again.length > 0) startCheckpoint(m, c.again);
}

/** The log was replaced (a replica took the master's checkpoint): requests waiting for a checkpoint of the old one fail. */
export function checkpointsDropped(m: MasterHost): void {
  const c = m.checkpointing;
  for (const w of [...(c?.waiters ?? []), ...(c?.again ?? [])]) m.ctx.replyErrorTo(w, "the log was replaced by the master's checkpoint");
  m.checkpointing = undefined;
}
