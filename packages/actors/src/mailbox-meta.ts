import type { ReplyHandle } from './context.ts';
import { StreamCredit } from './streams.ts';

/** The meta of a mailbox entry: 0 for a tell, the reply handle for an ask, a credit for stream data. */
export type Meta = 0 | ReplyHandle | StreamCredit;

export function replyHandleOf(meta: Meta): ReplyHandle | undefined {
  return meta === 0 || meta instanceof StreamCredit ? undefined : meta;
}
