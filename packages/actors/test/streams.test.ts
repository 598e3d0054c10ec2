import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorRef, ActorSystem, DeliveryError } from '../src/index.ts';
import { SimCluster } from '../src/testing/index.ts';
import { until } from './helpers.ts';
import { StreamSink, StreamSource, type SinkMsg, type SinkState, type SourceMsg, type SourceOutcome } from './fixtures/stream-kinds.ts';

describe('streams in the simulator', () => {
  async function slowSink(seed: number): Promise<{ out: SourceOutcome; state: SinkState; deepest: number; hash: string }> {
    const sim = new SimCluster({ seed, nodes: ['a', 'b'], network: { delayMs: [1, 3] } });
    const sink = sim.spawn('b', StreamSink, { delayMs: 2 });
    const source = sim.spawn('a', StreamSource, {});
    let deepest = 0;
    let out: SourceOutcome | undefined;
    void sim.ask(source, { type: 'send', to: sink, chunks: 100, chunkBytes: 10_000, windowBytes: 32_768 }, { timeoutMs: 60_000 }).then((o) => (out = o));
    await sim.runUntil(
      () => {
        deepest = Math.max(deepest, sim.node('b').stats().mailboxTotal);
        return out !== undefined;
      },
      { maxMs: 60_000 },
    );
    const state = await sim.call(sink, { type: 'result' });
    return { out: out!, state, deepest, hash: sim.traceHash() };
  }

  it('a slow receiver holds the sender back: every byte arrives in order, and no more than the window waits', async () => {
    const { out, state, deepest } = await slowSink(1);
    expect(out.ok).toBe(true);
    expect(state).toMatchObject({ opened: 1, meta: { name: 'test', chunks: 100 }, chunks: 100, bytes: 1_000_000, ended: true });
    expect(state.crc).toBe((out as { crc: number }).crc);
    // A 32 KiB window holds at most 3 chunks of 10 KB, plus the one being consumed.
    expect(deepest).toBeLessThanOrEqual(4);
  });

  it('is deterministic: the same seed replays the same run', async () => {
    const one = await slowSink(5);
    const two = await slowSink(5);
    expect(two.hash).toBe(one.hash);
  });

  it('a lost chunk ends the stream with an error on both sides, never a silent gap', async () => {
    const sim = new SimCluster({ seed: 3, nodes: ['a', 'b'] });
    sim.setLink('a', 'b', { drop: 0.2 }, true);
    const sink = sim.spawn('b', StreamSink, {});
    const source = sim.spawn('a', StreamSource, {});
    let out: SourceOutcome | undefined;
    void sim.ask(source, { type: 'send', to: sink, chunks: 50, chunkBytes: 1000, windowBytes: 4000 }, { timeoutMs: 60_000 }).then((o) => (out = o));
    await sim.runUntil(() => out !== undefined, { maxMs: 60_000 });
    expect(out).toMatchObject({ ok: false, name: 'StreamError' });
    const state = await sim.call(sink, { type: 'peek' });
    expect(state.ended).toBe(false);
    expect(state.chunks).toBeLessThan(50);
    // The receiver saw the gap itself, or heard the sender's abort (unless that was lost too).
    if (state.error !== undefined) expect(state.error).toMatch(/lost|no progress/);
  });

  it('a receiver that aborts fails the sender\'s next write with its reason; a sender that aborts fails the receiver', async () => {
    const sim = new SimCluster({ seed: 4, nodes: ['a', 'b'] });
    const source = sim.spawn('a', StreamSource, {});
    const quitter = sim.spawn('b', StreamSink, { abortAfter: 3 });
    const out = await sim.call(source, { type: 'send', to: quitter, chunks: 50, chunkBytes: 1000, windowBytes: 2000 }, { timeoutMs: 10_000 });
    expect(out).toMatchObject({ ok: false, name: 'StreamError', message: expect.stringContaining('enough') });
    const sink = sim.spawn('b', StreamSink, {});
    const out2 = await sim.call(source, { type: 'send', to: sink, chunks: 10, chunkBytes: 100, windowBytes: 2000, abortAfter: 5 }, { timeoutMs: 10_000 });
    expect(out2).toMatchObject({ ok: false, wrote: 5 });
    expect(await sim.call(sink, { type: 'result' })).toMatchObject({ chunks: 5, ended: false, error: 'sender gave up' });
  });

  /** Runs a stream from a to b (the sink consumes at once unless delayMs) and counts its control messages on the network. */
  async function counted(seed: number, send: Omit<SourceMsg, 'type' | 'to'>, sinkProps: { delayMs?: number } = {}) {
    const wire: Record<string, number> = {};
    const sim = new SimCluster({
      seed,
      nodes: ['a', 'b'],
      onSend: ({ to, body }) => {
        if (to.id === '$stream') wire[(body as { t: string }).t] = (wire[(body as { t: string }).t] ?? 0) + 1;
      },
    });
    const sink = sim.spawn('b', StreamSink, sinkProps);
    const source = sim.spawn('a', StreamSource, {});
    const out = await sim.call(source, { type: 'send', to: sink, ...send }, { timeoutMs: 60_000 });
    const state = await sim.call(sink, { type: 'result' });
    return { out, state, wire, counts: sim.node('a').streams().counts };
  }

  it('chunks leave several at a time, and credit comes back in steps of a quarter of the window, not per chunk', async () => {
    const { out, state, wire, counts } = await counted(8, { chunks: 256, chunkBytes: 1000, windowBytes: 16_000 }, { delayMs: 1 });
    expect(out.ok).toBe(true);
    expect(state).toMatchObject({ chunks: 256, bytes: 256_000, ended: true, crc: (out as { crc: number }).crc });
    // A quarter of the window is 4 chunks: 64 batches and about as many credits, against 256 each a chunk at a time.
    expect(wire.data).toBe(256);
    expect(counts.chunksSent).toBe(256);
    expect(counts.batches).toBeLessThanOrEqual(70);
    expect(wire.credit).toBeLessThanOrEqual(70);
  });

  it('a chunk that needs credit below the step still gets it once the receiver has consumed everything', async () => {
    // A 4,000-byte window grants in steps of 1,000: after the 500-byte chunk only a grant of what
    // is left (500) lets the 3,800-byte chunk go; without it the sender would wait out its idle timeout.
    const sizes = [500, 3_800, 200, 3_900, 100];
    const { out, state } = await counted(9, { chunks: 0, chunkBytes: 0, windowBytes: 4_000, sizes }, { delayMs: 3 });
    expect(out.ok).toBe(true);
    expect(state).toMatchObject({ chunks: 5, bytes: 8_500, ended: true, crc: (out as { crc: number }).crc });
  });

  it('chunks written before the sender aborts reach the receiver before the abort', async () => {
    // 3 chunks of 100 bytes are less than a batch (500 of a 2,000-byte window): they wait to be sent when the abort comes.
    const { out, state, counts } = await counted(10, { chunks: 10, chunkBytes: 100, windowBytes: 2_000, abortAfter: 3 });
    expect(out).toMatchObject({ ok: false, wrote: 3 });
    expect(state).toMatchObject({ chunks: 3, bytes: 300, ended: false, error: 'sender gave up' });
    expect(counts.batches).toBe(1);
  });

  it('a crashed receiver node fails the sender (crash detection on)', async () => {
    const sim = new SimCluster({ seed: 6, nodes: ['a', 'b'], crashDetection: true });
    const sink = sim.spawn('b', StreamSink, { delayMs: 5 });
    const source = sim.spawn('a', StreamSource, {});
    let out: SourceOutcome | undefined;
    void sim.ask(source, { type: 'send', to: sink, chunks: 100, chunkBytes: 1000, windowBytes: 4000 }, { timeoutMs: 60_000 }).then((o) => (out = o));
    await sim.runFor(50);
    sim.crash('b');
    await sim.runUntil(() => out !== undefined, { maxMs: 1_000 });
    expect(out).toMatchObject({ ok: false, name: 'StreamError', message: expect.stringContaining('node b is down') });
  });

  it("a node's stats count its streams: open each way while they run, bytes sent and received, credits, and the writes that waited for credit", async () => {
    const sim = new SimCluster({ seed: 12, nodes: ['a', 'b'], network: { delayMs: [1, 3] } });
    const sink = sim.spawn('b', StreamSink, { delayMs: 2 });
    const source = sim.spawn('a', StreamSource, {});
    let out: SourceOutcome | undefined;
    void sim.ask(source, { type: 'send', to: sink, chunks: 50, chunkBytes: 10_000, windowBytes: 32_768 }, { timeoutMs: 60_000 }).then((o) => (out = o));
    const open = { sending: 0, receiving: 0 };
    await sim.runUntil(
      () => {
        open.sending = Math.max(open.sending, sim.node('a').stats().streams.openSending);
        open.receiving = Math.max(open.receiving, sim.node('b').stats().streams.openReceiving);
        return out !== undefined;
      },
      { maxMs: 60_000 },
    );
    expect(out?.ok).toBe(true);
    expect(open).toEqual({ sending: 1, receiving: 1 });
    const [a, b] = [sim.node('a').stats().streams, sim.node('b').stats().streams];
    expect(a).toMatchObject({ openSending: 0, openReceiving: 0, chunksSent: 50, bytesSent: 500_000, bytesReceived: 0, creditsSent: 0 });
    expect(b).toMatchObject({ openSending: 0, openReceiving: 0, chunksSent: 0, bytesSent: 0, bytesReceived: 500_000, creditWaits: 0 });
    // A 32 KiB window holds 3 chunks of 10 KB: the sender waits for credit, which comes back in steps.
    expect(a.creditWaits).toBeGreaterThan(0);
    expect(b.creditsSent).toBeGreaterThanOrEqual(a.creditWaits);
  });

  it('a stream to an actor that does not exist fails at once', async () => {
    const sim = new SimCluster({ seed: 7, nodes: ['a', 'b'] });
    const source = sim.spawn('a', StreamSource, {});
    const out = await sim.call(source, { type: 'send', to: new ActorRef<SinkMsg>('b', 'nobody'), chunks: 3, chunkBytes: 10, windowBytes: 100 });
    expect(out).toMatchObject({ ok: false, message: expect.stringContaining('no actor nobody') });
  });
});

describe('streams between worker threads', () => {
  let sys: ActorSystem;
  /** Whether the sink took a chunk yet. Its mailbox holds 4 and stream data does not count against
   *  the bound for itself but fills it for others, so a probe refused as mailbox-full tries again. */
  const underWay = async (sink: ActorRef<SinkMsg>): Promise<boolean> => {
    try {
      return (await sys.ask(sink, { type: 'peek' })).chunks > 0;
    } catch (e) {
      if (e instanceof DeliveryError && e.reason === 'mailbox-full') return false;
      throw e;
    }
  };
  beforeAll(async () => {
    sys = await ActorSystem.start({ workers: 2, modules: [new URL('./fixtures/stream-kinds.ts', import.meta.url)], mailboxCapacity: 4 });
  });
  afterAll(async () => {
    await sys.shutdown();
  });

  it('8 MiB in 64 KiB chunks arrive whole into a mailbox of capacity 4: stream data is never a dead letter', async () => {
    const sink = await sys.spawn(StreamSink, {}, { node: 'w2' });
    const source = await sys.spawn(StreamSource, {}, { node: 'w1' });
    const out = await sys.ask(source, { type: 'send', to: sink, chunks: 128, chunkBytes: 65_536, windowBytes: 1 << 20 }, { timeoutMs: 30_000 });
    expect(out.ok).toBe(true);
    const state = await sys.ask(sink, { type: 'result' }, { timeoutMs: 30_000 });
    expect(state).toMatchObject({ chunks: 128, bytes: 128 * 65_536, ended: true, crc: (out as { crc: number }).crc });
    const [sent, received] = [(await sys.stats('w1')).streams, (await sys.stats('w2')).streams];
    expect(received).toMatchObject({ bytesReceived: 128 * 65_536, openReceiving: 0 });
    expect(sent).toMatchObject({ chunksSent: 128, bytesSent: 128 * 65_536, openSending: 0 });
    expect((await sys.stats('w2')).deadLetters.total).toBe(0);
  });

  it('a receiver node that dies ends the stream with an error at the sender', async () => {
    await sys.startNode('w3');
    const sink = await sys.spawn(StreamSink, { delayMs: 20 }, { node: 'w3' });
    const source = await sys.spawn(StreamSource, {}, { node: 'w1' });
    const out = sys.ask(source, { type: 'send', to: sink, chunks: 1000, chunkBytes: 1000, windowBytes: 4000 }, { timeoutMs: 30_000 });
    await until(() => underWay(sink), 'the stream is under way');
    await sys.killNode('w3');
    expect(await out).toMatchObject({ ok: false, name: 'StreamError', message: expect.stringContaining('node w3 is down') });
  });

  it('a sender node that dies ends the stream with an error at the receiver', async () => {
    await sys.startNode('w4');
    const sink = await sys.spawn(StreamSink, { delayMs: 20 }, { node: 'w2' });
    const source = await sys.spawn(StreamSource, {}, { node: 'w4' });
    void sys.ask(source, { type: 'send', to: sink, chunks: 1000, chunkBytes: 1000, windowBytes: 4000 }, { timeoutMs: 30_000 }).catch(() => undefined);
    const result = sys.ask(sink, { type: 'result' }, { timeoutMs: 30_000 });
    await until(() => underWay(sink), 'the stream is under way');
    await sys.killNode('w4');
    expect(await result).toMatchObject({ ended: false, error: 'node w4 is down' });
  });
});
