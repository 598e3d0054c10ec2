import { ControlTimeoutError, type ActorSystem } from '../src/index.ts';
import { Stuck } from './fixtures/hardening-kinds.ts';
import { until } from './helpers.ts';

/**
 * Puts an actor on `node` into a synchronous loop that never ends, and waits until the node's
 * thread is held: a control call goes unanswered. A fixed pause could end before a loaded thread
 * starts the loop, and a control call that slips in first would still be answered.
 */
export async function holdThread(sys: ActorSystem, node: string): Promise<void> {
  const s = await sys.spawn(Stuck, {}, { node });
  sys.tell(s, { type: 'spin' });
  await until(() => sys.stats(node).then(() => false, (err: unknown) => err instanceof ControlTimeoutError), `${node} held by a spinning actor`);
}
