import { describe, expect, it } from '@jest/globals';
import { MessageChannel } from 'node:worker_threads';
import { ActorNode, MemoryStore, type NodeEnv } from '../src/index.ts';
import { PortTransport } from '../src/thread/port-transport.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { Recorder } from './fixtures/probes.ts';

/** A node on this thread whose env counts the turns it defers. */
function countingNode(name: string): { node: ActorNode; deferred: () => number } {
  let deferred = 0;
  const env: NodeEnv = { ...realEnv, defer: (fn) => (deferred++, realEnv.defer(fn)) };
  const node = new ActorNode({ name, env, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
  return { node, deferred: () => deferred };
}

describe('messages arriving from another node', () => {
  it('run in the turn the transport drains them in: an arriving batch defers no turn of its own', async () => {
    const a = countingNode('a');
    const b = countingNode('b');
    const { port1, port2 } = new MessageChannel();
    const ta = new PortTransport(a.node, 1 << 20);
    const tb = new PortTransport(b.node, 1 << 20);
    ta.connect('b', port1);
    tb.connect('a', port2);
    a.node.transport = ta;
    b.node.transport = tb;
    try {
      const rec = b.node.spawn(Recorder, {});
      const before = b.deferred();
      for (let i = 0; i < 3; i++) a.node.tell(rec, { type: 'note', value: i });
      // The ask crosses after the notes (one ordered port) and is answered once all three are in.
      const seen = await a.node.ask(rec, { type: 'wait', count: 3 });
      expect(seen).toEqual([0, 1, 2].map((value) => ({ type: 'note', value })));
      expect(b.deferred() - before).toBe(0);
    } finally {
      ta.close();
      tb.close();
      await Promise.all([a.node.shutdown(), b.node.shutdown()]);
    }
  });
});
