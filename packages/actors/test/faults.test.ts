import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ActorNode, ActorRef, ActorSystem, DeliveryError, MemoryStore, UnsendableError, decode, encode, type DeadLetter } from '../src/index.ts';
import { decodeTransferred } from '../src/codec.ts';
import { firstCorrOf } from '../src/pending-asks.ts';
import { PortTransport } from '../src/thread/port-transport.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { Counter, Echo } from './fixtures/kinds.ts';
import { Recorder } from './fixtures/probes.ts';
import { HANG_MS, rejectionOf, until, within } from './helpers.ts';

const modules = [new URL('./fixtures/kinds.ts', import.meta.url), new URL('./fixtures/probes.ts', import.meta.url)];
const maxMessageBytes = 4096;

let sys: ActorSystem;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: 1, modules, maxMessageBytes });
});

afterAll(async () => {
  await sys.shutdown();
});

/** Dead letters main records while `fn` runs (synchronously). */
function deadLettersDuring(fn: () => void): DeadLetter[] {
  const seen: DeadLetter[] = [];
  const unsubscribe = sys.main.deadLetters.subscribe((d) => seen.push(d));
  try {
    fn();
  } finally {
    unsubscribe();
  }
  return seen;
}

describe('bounded mailboxes', () => {
  it('messages beyond a busy actor\'s mailbox capacity go to dead letters as mailbox-full', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { mailboxCapacity: 3 });
    const pause = sys.ask(c, { type: 'pause', ms: 50 });
    // The node's turn was requested before this callback: once it runs, the actor is awaiting.
    await new Promise((r) => setImmediate(r));
    const seen = deadLettersDuring(() => {
      for (let i = 0; i < 5; i++) sys.tell(c, { type: 'add', by: 1 });
    });
    expect(seen.map((d) => [d.reason, d.messageType, d.target])).toEqual([
      ['mailbox-full', 'add', `${c.id}@main`],
      ['mailbox-full', 'add', `${c.id}@main`],
    ]);
    expect(await pause).toBe(0);
    // Until the three queued adds are handled (a full mailbox would refuse the get too): a condition, not a sleep.
    await until(() => sys.main.stats().mailboxTotal === 0, 'the queued adds are handled');
    expect(await sys.ask(c, { type: 'get' })).toBe(3);
  });

  it('a worker\'s mailbox bound holds for messages that arrive in one batch, and is counted in its stats', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { node: 'w1', mailboxCapacity: 4 });
    const before = (await sys.stats('w1')).deadLetters.byReason['mailbox-full'] ?? 0;
    const pause = sys.ask(c, { type: 'pause', ms: 20 });
    for (let i = 0; i < 10; i++) sys.tell(c, { type: 'add', by: 1 });
    expect(await pause).toBe(0);
    // The batch filled the mailbox (the pause and three adds) before the actor took anything.
    expect(await sys.ask(c, { type: 'get' })).toBe(3);
    expect((await sys.stats('w1')).deadLetters.byReason['mailbox-full']).toBe(before + 7);
  });

  it('an ask refused by a full mailbox fails fast with DeliveryError mailbox-full', async () => {
    const c = await sys.spawn(Counter, { start: 0 }, { mailboxCapacity: 1 });
    const pause = sys.ask(c, { type: 'pause', ms: 20 });
    const err = await rejectionOf(sys.ask(c, { type: 'get' }, { timeoutMs: HANG_MS }));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ reason: 'mailbox-full', target: `${c.id}@main` });
    await pause;
  });
});

describe('messages that cannot cross threads', () => {
  const big = () => new Uint8Array(maxMessageBytes * 2).fill(7);

  it('a message over maxMessageBytes goes to dead letters as oversize, and the rest of its batch arrives in order', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w1' });
    // One synchronous run: the three travel in one batch, which the transport has to split.
    sys.tell(r, { type: 'note', value: 'before' });
    sys.tell(r, { type: 'note', value: big() });
    sys.tell(r, { type: 'note', value: 'after' });
    expect(await sys.ask(r, { type: 'wait', count: 2 })).toEqual([
      { type: 'note', value: 'before' },
      { type: 'note', value: 'after' },
    ]);
    expect(sys.deadLetters().filter((d) => d.reason === 'oversize' && d.target === `${r.id}@w1`)).toEqual([
      expect.objectContaining({ messageType: 'note', detail: expect.stringMatching(/^\d+ bytes > 4096$/) }),
    ]);
  });

  it('a message sent to many (one encoding shared) over maxMessageBytes goes to dead letters as oversize once per target, named by its type', async () => {
    const [r1, r2] = await Promise.all([sys.spawn(Recorder, {}, { node: 'w1' }), sys.spawn(Recorder, {}, { node: 'w1' })]);
    const dead = deadLettersDuring(() => sys.main.tellMany([r1!, r2!], { type: 'note', value: big() }));
    sys.main.tellMany([r1!, r2!], { type: 'note', value: 'small' });
    for (const r of [r1!, r2!]) expect(await sys.ask(r, { type: 'wait', count: 1 })).toEqual([{ type: 'note', value: 'small' }]);
    expect(dead).toEqual([]); // refused as the batch is encoded, after the send returned
    const oversize = sys.deadLetters().filter((d) => d.reason === 'oversize' && (d.target === `${r1!.id}@w1` || d.target === `${r2!.id}@w1`));
    expect(oversize).toEqual([expect.objectContaining({ messageType: 'note' }), expect.objectContaining({ messageType: 'note' })]);
  });

  it('an ask whose message is over the limit rejects fast with DeliveryError oversize', async () => {
    const echo = await sys.spawn(Echo, {}, { node: 'w1' });
    const err = await rejectionOf(sys.ask(echo, { type: 'echo', payload: big() }, { timeoutMs: HANG_MS }));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ reason: 'oversize', target: `${echo.id}@w1` });
    expect(await sys.ask(echo, { type: 'echo', payload: 'small' })).toBe('small');
  });

  it('a reply over the limit fails the ask fast with DeliveryError oversize', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w1' });
    const before = (await sys.stats('w1')).deadLetters.byReason.oversize ?? 0;
    // Each note fits; the list of all three does not.
    for (let i = 0; i < 3; i++) sys.tell(r, { type: 'note', value: new Uint8Array(maxMessageBytes / 2) });
    const err = await rejectionOf(sys.ask(r, { type: 'recorded' }, { timeoutMs: HANG_MS }));
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ reason: 'oversize' });
    expect((await sys.stats('w1')).deadLetters.byReason.oversize).toBe(before + 1);
  });

  it('a message that cannot be encoded fails its send at once, naming where (issue 14.6: it used to become a dead letter); the rest arrive', async () => {
    const r = await sys.spawn(Recorder, {}, { node: 'w1' });
    const circular: { type: 'note'; value: unknown } = { type: 'note', value: undefined };
    circular.value = circular;
    sys.tell(r, { type: 'note', value: 1 });
    expect(() => sys.tell(r, { type: 'note', value: 2n ** 70n })).toThrow(UnsendableError); // over msgpack's 64-bit integers
    expect(() => sys.tell(r, circular)).toThrow(/nested deeper/);
    sys.tell(r, { type: 'note', value: 2 });
    expect(await sys.ask(r, { type: 'wait', count: 2 })).toEqual([
      { type: 'note', value: 1 },
      { type: 'note', value: 2 },
    ]);
    const echo = await sys.spawn(Echo, {}, { node: 'w1' });
    const err = await rejectionOf(sys.ask(echo, { type: 'echo', payload: Symbol('local only') }, { timeoutMs: HANG_MS }));
    expect(err).toMatchObject({ name: 'UnsendableError', path: 'msg.payload' });
  });

  it('an ask to a node that does not exist fails fast with DeliveryError unknown-node', async () => {
    const err = await rejectionOf(sys.ask(new ActorRef<{ type: 'get' }>('w9', 'x'), { type: 'get' }, { timeoutMs: HANG_MS }));
    expect(err).toMatchObject({ name: 'DeliveryError', reason: 'unknown-node', target: 'x@w9' });
  });
});

describe('dead letters', () => {
  it('are counted in full, while only the most recent hundred are kept for inspection', async () => {
    const node = new ActorNode({ name: 'dl', env: realEnv, seed: 1, logSink: () => undefined, openStore: () => new MemoryStore() });
    for (let i = 0; i < 150; i++) node.tell(new ActorRef('dl', `nobody-${i}`), { type: 'ping' });
    const recent = node.deadLetters.recent();
    expect(recent.length).toBe(100);
    expect(recent[0]!.target).toBe('nobody-50@dl');
    expect(recent.at(-1)!.target).toBe('nobody-149@dl');
    expect(node.stats().deadLetters).toEqual({ total: 150, byReason: { 'no-such-actor': 150 } });
    await node.shutdown();
  });
});

/**
 * A node with a real PortTransport, in this thread, wired to a MessageChannel whose other end the
 * test holds: it can post any bytes a broken or hostile peer might, and read the node's answers.
 */
describe('frames from a peer', () => {
  let node: ActorNode;
  let transport: PortTransport;
  let peer: MessagePort;
  let frames: unknown[][];
  let frameWaiters: Array<(f: unknown[]) => void>;

  const nextFrame = (): Promise<unknown[]> =>
    frames.length > 0 ? Promise.resolve(frames.shift()!) : new Promise((resolve) => frameWaiters.push(resolve));
  const post = (value: unknown): void => {
    const bytes = encode(value);
    peer.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  };
  /** Asks counter 'c' (start 7) for its value through the peer port: the node still serves. */
  const stillServes = async (corr: number): Promise<void> => {
    post(['c', { type: 'get' }, corr]);
    expect(await within(nextFrame())).toEqual(['', 7, -corr]);
  };
  const malformed = (): DeadLetter[] => node.deadLetters.recent().filter((d) => d.reason === 'malformed');

  beforeEach(() => {
    node = new ActorNode({
      name: 'n1',
      env: realEnv,
      seed: 1,
      logSink: () => undefined,
      openStore: () => {
        throw new Error('no storage in this test');
      },
    });
    transport = new PortTransport(node, 1 << 16);
    node.transport = transport;
    const channel = new MessageChannel();
    transport.connect('peer', channel.port1);
    peer = channel.port2;
    frames = [];
    frameWaiters = [];
    peer.on('message', (data: Uint8Array) => {
      const f = decode(data) as unknown[];
      const w = frameWaiters.shift();
      if (w) w(f);
      else frames.push(f);
    });
    node.spawn(Counter, { start: 7 }, { name: 'c' });
  });

  afterEach(async () => {
    transport.close();
    peer.close();
    await node.shutdown();
  });

  it('bytes that are not a batch of envelopes are dead letters as malformed, and the node keeps serving', async () => {
    peer.postMessage('not bytes at all');
    peer.postMessage(new Uint8Array([0xc1])); // a byte msgpack never uses
    post({ not: 'an array' });
    post(['c', { type: 'get' }]); // not a multiple of three
    post([42, { type: 'get' }, 0]); // the target is not a string
    post(['c', { type: 'get' }, 'one']); // the correlation id is not a number
    await stillServes(1);
    expect(malformed().map((d) => [d.target, d.detail])).toEqual([
      ['$transport@n1', 'from peer: undecodable batch'],
      ['$transport@n1', 'from peer: undecodable batch'],
      ['$transport@n1', 'from peer: undecodable batch'],
      ['$transport@n1', 'from peer: undecodable batch'],
      ['$transport@n1', 'from peer: bad envelope'],
      ['$transport@n1', 'from peer: bad envelope'],
    ]);
    expect(node.stats().deadLetters.byReason.malformed).toBe(6);
  });

  it('a run of tells to one actor, [to, bodies, true], is delivered in order; a run whose bodies are not an array is a bad envelope', async () => {
    post(['c', [{ type: 'add', by: 1 }, { type: 'add', by: 2 }], true, 'c', { type: 'add', by: 3 }, 0]);
    post(['c', { type: 'add', by: 100 }, true]);
    post(['c', [{ type: 'add', by: 100 }], false]);
    post(['c', { type: 'get' }, 2]);
    expect(await within(nextFrame())).toEqual(['', 13, -2]);
    expect(malformed().map((d) => d.detail)).toEqual(['from peer: bad envelope', 'from peer: bad envelope']);
  });

  it('consecutive tells to one actor leave in one run; tells between others keep their order', async () => {
    const x = new ActorRef('peer', 'x');
    const y = new ActorRef('peer', 'y');
    const batch = new Promise<unknown[]>((resolve) => {
      peer.removeAllListeners('message');
      peer.once('message', (data: Uint8Array) => resolve(decodeTransferred(data, []) as unknown[]));
    });
    for (const [ref, n] of [[x, 1], [x, 2], [x, 3], [y, 4], [x, 5], [y, 6], [y, 7]] as const) node.tell(ref, { type: 'm', n });
    node.ask(x, { type: 'q' }, HANG_MS).catch(() => undefined);
    expect(await within(batch)).toEqual([
      'x', [{ type: 'm', n: 1 }, { type: 'm', n: 2 }, { type: 'm', n: 3 }], true,
      'y', { type: 'm', n: 4 }, 0,
      'x', { type: 'm', n: 5 }, 0,
      'y', [{ type: 'm', n: 6 }, { type: 'm', n: 7 }], true,
      'x', { type: 'q' }, firstCorrOf(1), // the node's seed is 1: its first ask
    ]);
  });

  it('a message that is not an object with a string type is a malformed dead letter, and an ask carrying one gets an error reply', async () => {
    post(['c', 42, 0]);
    post(['c', { kind: 'get' }, 0]);
    post(['c', { type: 5 }, 3]);
    expect(await within(nextFrame())).toEqual(['!', expect.objectContaining({ name: 'DeliveryError', reason: 'malformed' }), -3]);
    await stillServes(4);
    expect(malformed().map((d) => d.target)).toEqual(['c@n1', 'c@n1', 'c@n1']);
  });

  it('a malformed housekeeping message is a dead letter, not a crash of the node\'s thread', async () => {
    post(['$sys', null, 0]);
    post(['$sys', 'watch', 0]);
    post(['$sys', { t: 'watch', target: 'c', watcher: 'not a ref' }, 0]);
    post(['$sys', { t: 'terminated', watcher: 'c', target: null }, 0]);
    post(['$sys', { t: 'reboot' }, 0]);
    await stillServes(5);
    expect(malformed().map((d) => d.target)).toEqual(['$sys@n1', '$sys@n1', '$sys@n1', '$sys@n1', '$sys@n1']);
  });

  it('a message for an id with no actor is a dead letter as no-such-actor, and an ask gets a DeliveryError reply', async () => {
    post(['nobody', { type: 'get' }, 0]);
    post(['nobody', { type: 'get' }, 9]);
    expect(await within(nextFrame())).toEqual(['!', expect.objectContaining({ name: 'DeliveryError', reason: 'no-such-actor' }), -9]);
    expect(node.deadLetters.recent().map((d) => [d.target, d.reason, d.messageType])).toEqual([
      ['nobody@n1', 'no-such-actor', 'get'],
      ['nobody@n1', 'no-such-actor', 'get'],
    ]);
  });
});
