import { describe, expect, it } from '@jest/globals';
import { ActorRef, defineActor, type ActorContext, type Asks } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';

type RelayMsg = { type: 'relay'; to: ActorRef<{ type: 'done'; n: number }> | null; n: number } | ({ type: 'count' } & Asks<number>);

/** Writes n, then tells `to` once the write is synced. `to` comes from the message: data. */
const Relay = defineActor('test.relay', (_props: Record<string, never>, ctx: ActorContext<RelayMsg>) => {
  let relayed = 0;
  return (msg: RelayMsg) => {
    if (msg.type === 'count') return ctx.reply(relayed);
    ctx.storage.put(['n', msg.n], msg.n);
    ctx.sendWhenDurable(msg.to as ActorRef<{ type: 'done'; n: number }>, { type: 'done', n: msg.n });
    relayed++;
  };
});

const got: number[] = [];
const Sink = defineActor('test.relay-sink', () => (msg: { type: 'done'; n: number }) => void got.push(msg.n));

describe('a ref that arrives as data', () => {
  it('is checked when sendWhenDurable is called: the actor\'s turn fails (its supervisor restarts it), not the commit that lands later', async () => {
    const sim = new SimCluster({ seed: 1, fsyncMs: [2, 2] });
    sim.addNode('a');
    const sink = sim.spawn('a', Sink, {});
    const relay = sim.spawn('a', Relay, {});
    sim.tell(relay, { type: 'relay', to: sink, n: 1 });
    sim.tell(relay, { type: 'relay', to: null, n: 2 });
    sim.tell(relay, { type: 'relay', to: sink, n: 3 });
    await sim.runFor(20);
    // The durable replies of the same commit went out, and the node kept serving.
    expect(got).toEqual([1, 3]);
    // Restarted once (its in-memory count started over), and serving again.
    expect(await sim.call(relay, { type: 'count' })).toBe(1);
    expect(() => sim.node('a').stats()).not.toThrow();
  });
});
