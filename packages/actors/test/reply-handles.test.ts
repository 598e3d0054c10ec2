import { describe, expect, it } from '@jest/globals';
import { ActorSystem, type ActorRef, type ReplyHandle } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';
import { HandleEcho, Relay, type Outcome, type RelayMsg } from './fixtures/probes.ts';

/**
 * A reply handle (node, corr) names one ask, also across a node's restarts under its name: servers
 * drop the network's copies of a request by it (the lock service's master does), and a restarted
 * node's asks taken for copies of its earlier start's would be dropped.
 */
const key = (h: ReplyHandle): string => `${h.node}#${h.corr}`;

function handleOf(o: Outcome): ReplyHandle {
  if (!o.ok) throw new Error(`the ask failed: ${o.name}: ${o.message}`);
  return o.value as ReplyHandle;
}

describe('reply handles across restarts', () => {
  it('in the simulator, a node started again never asks with a reply handle of its earlier start', async () => {
    const sim = new SimCluster({ seed: 5, nodes: ['a', 'b'] });
    const echo = sim.spawn('b', HandleEcho, {});
    const asks = async (relay: ActorRef<RelayMsg>): Promise<ReplyHandle[]> => {
      const out: ReplyHandle[] = [];
      for (let i = 0; i < 20; i++) out.push(handleOf(await sim.call(relay, { type: 'ask', to: echo, msg: { type: 'handle' } })));
      return out;
    };
    const first = await asks(sim.spawn('a', Relay, {}));
    sim.crash('a');
    sim.restart('a');
    const second = await asks(sim.spawn('a', Relay, {}));
    expect([...first, ...second].every((h) => h.node === 'a')).toBe(true);
    expect(new Set([...first, ...second].map(key)).size).toBe(40);
  });

  it('on worker threads, a node thread started again never asks with a reply handle of its earlier start', async () => {
    const system = await ActorSystem.start({ workers: 2, modules: [new URL('./fixtures/probes.ts', import.meta.url)] });
    try {
      const echo = await system.spawn(HandleEcho, {}, { node: 'w2' });
      const asks = async (): Promise<ReplyHandle[]> => {
        const relay = await system.spawn(Relay, {}, { node: 'w1' });
        const out: ReplyHandle[] = [];
        for (let i = 0; i < 20; i++) out.push(handleOf(await system.ask(relay, { type: 'ask', to: echo, msg: { type: 'handle' } })));
        return out;
      };
      const first = await asks();
      await system.crashNode('w1');
      await system.startNode('w1');
      const second = await asks();
      expect([...first, ...second].every((h) => h.node === 'w1')).toBe(true);
      expect(new Set([...first, ...second].map(key)).size).toBe(40);
    } finally {
      await system.shutdown();
    }
  });
});
