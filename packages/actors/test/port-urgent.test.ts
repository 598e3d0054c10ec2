import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ActorNode, defineActor, MemoryStore, type ActorContext, type ActorRef } from '../src/index.ts';
import { PortTransport } from '../src/thread/port-transport.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { Recorder, type RecorderMsg } from './fixtures/probes.ts';

/** Batches posted from node a to node b so far (the real port, counted). */
let posted = 0;
/** What each look saw of `posted`. */
const looks: number[] = [];

type SenderMsg = { type: 'send'; values: number[] };
/** Tells each value to a recorder on the other node, urgent or not. */
const Sender = defineActor('test.urgent-sender', (props: { to: ActorRef<RecorderMsg>; urgent: boolean }, ctx: ActorContext<SenderMsg>) => (msg: SenderMsg) => {
  for (const value of msg.values) ctx.send(props.to, { type: 'note', value }, { urgent: props.urgent });
});

type LookMsg = { type: 'look' };
/** Notes how many batches had left when it ran. */
const Looker = defineActor('test.urgent-looker', () => (_msg: LookMsg) => void looks.push(posted));

function counted(port: MessagePort): MessagePort {
  const post = port.postMessage.bind(port);
  port.postMessage = (...args: Parameters<MessagePort['postMessage']>) => {
    posted++;
    post(...args);
  };
  return port;
}

/** Until the looker has looked `n` times (its turn is deferred: an ask from here would leave first). */
async function looked(n: number): Promise<void> {
  while (looks.length < n) await new Promise((r) => setImmediate(r));
}

const node = (name: string): ActorNode => new ActorNode({ name, env: realEnv, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });

describe('an urgent message to another thread', () => {
  let a: ActorNode;
  let b: ActorNode;
  let ta: PortTransport;
  let tb: PortTransport;
  let recorder: ActorRef<RecorderMsg>;

  beforeEach(() => {
    posted = 0;
    looks.length = 0;
    a = node('a');
    b = node('b');
    const { port1, port2 } = new MessageChannel();
    ta = new PortTransport(a, 1 << 20);
    tb = new PortTransport(b, 1 << 20);
    ta.connect('b', counted(port1));
    tb.connect('a', port2);
    a.transport = ta;
    b.transport = tb;
    recorder = b.spawn(Recorder, {});
  });

  afterEach(async () => {
    ta.close();
    tb.close();
    await Promise.all([a.shutdown(), b.shutdown()]);
  });

  /** One turn on a: each sender sends its values, then the looker looks; resolves with what b recorded. */
  async function turn(sends: Array<[ActorRef<SenderMsg>, number[]]>, recorded: number): Promise<unknown> {
    const looker = a.spawn(Looker, {});
    // Queued outside a turn, so one turn runs them all, in this order.
    for (const [sender, values] of sends) a.tell(sender, { type: 'send', values });
    a.tell(looker, { type: 'look' });
    await looked(looks.length + 1);
    return a.ask(recorder, { type: 'wait', count: recorded });
  }

  it("leaves when its sender's run ends, before the other actors of the turn run; a plain one at the turn's end", async () => {
    const plain = a.spawn(Sender, { to: recorder, urgent: false });
    const urgent = a.spawn(Sender, { to: recorder, urgent: true });
    await turn([[plain, [1]]], 1);
    expect(looks).toEqual([0]);
    posted = 0;
    const seen = await turn([[urgent, [2, 3]]], 3);
    expect(looks).toEqual([0, 1]);
    expect(seen).toEqual([1, 2, 3].map((value) => ({ type: 'note', value })));
  });

  it('takes along what its run sent before it; what later actors of the turn send waits for the turn to end, in one batch, in order', async () => {
    const urgent = a.spawn(Sender, { to: recorder, urgent: true });
    const before = a.spawn(Sender, { to: recorder, urgent: false });
    const later = [0, 1, 2].map(() => a.spawn(Sender, { to: recorder, urgent: false }));
    const seen = await turn([[before, [0]], [urgent, [1, 2]], ...later.map((s, i): [ActorRef<SenderMsg>, number[]] => [s, [3 + i]])], 6);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5].map((value) => ({ type: 'note', value })));
    // The batch up to the urgent sender's run, then one for the three later senders, then the ask (from outside a turn).
    expect(looks).toEqual([1]);
    expect(posted).toBe(3);
  });
});
