import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorSystem, defineActor, seededRandom, type ActorContext, type ActorStorage, type Asks } from '@actorfs/actors';
import { ChunkBlockStore, prepareBlocks } from '../src/chunkserver/block-store.ts';

const BS = 1024;
const sizes = { blockSizeBytes: BS, chunkSizeBytes: 16 * BS };

type Scenario = (storage: ActorStorage) => void;
/** Scenarios by name (a message carries only plain data). */
const scenarios = new Map<string, Scenario>();
/** Runs a scenario on an actor's own storage (in memory), where a chunkserver's block store lives. */
const ScenarioHost = defineActor('gfs.test.prepared-blocks', (_props: null, ctx: ActorContext<{ type: 'run'; scenario: string } & Asks<true>>) => (msg) => {
  scenarios.get(msg.scenario)!(ctx.storage);
  ctx.reply(true);
});

let sys: ActorSystem;
beforeAll(async () => void (sys = await ActorSystem.start({})));
afterAll(() => sys.shutdown());
/** Each scenario on a fresh actor (its storage empty). */
async function inActor(scenario: Scenario): Promise<void> {
  const name = `s${scenarios.size}`;
  scenarios.set(name, scenario);
  await sys.ask(await sys.spawn(ScenarioHost, null, { name }), { type: 'run', scenario: name });
}

function blockStore(storage: ActorStorage): { store: ChunkBlockStore; bufferOf: (handle: number, block: number) => ArrayBufferLike | undefined } {
  return {
    store: new ChunkBlockStore(storage, sizes),
    bufferOf: (handle, block) => storage.peek(['block', handle, block], (v: Uint8Array | undefined) => v?.buffer),
  };
}

function bytes(n: number, seed: number): Uint8Array {
  const rand = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

describe('blocks prepared as pushed data arrives (copied once, checksummed, stored as they are)', () => {
  it('a block-aligned write stores each prepared block itself, with no copy, and reads back whole and verified', () =>
    inActor((storage) => {
    const { store, bufferOf } = blockStore(storage);
    const data = bytes(2 * BS + 300, 1);
    const pieces = prepareBlocks(data, BS);
    expect(pieces.map((p) => p.length)).toEqual([BS, BS, 300]);
    store.create(1, 1);
    store.write(1, BS, pieces);
    // the stored values are the prepared ones (the short last block too: it ends the chunk's data)
    expect([1, 2, 3].map((b, i) => bufferOf(1, b) === pieces[i]!.buffer)).toEqual([true, true, true]);
    expect(Buffer.from(store.read(1, BS, data.length)).equals(data)).toBe(true);
    expect(store.scan(1)).toEqual([]);
  }));

  it('a write off the block grid copies from the prepared pieces as from any others, and is right', () =>
    inActor((storage) => {
    const { store, bufferOf } = blockStore(storage);
    const data = bytes(2 * BS, 2);
    const pieces = prepareBlocks(data, BS);
    store.create(1, 1);
    store.write(1, BS / 2, pieces);
    expect(pieces.some((p) => p.buffer === bufferOf(1, 1))).toBe(false);
    expect(Buffer.from(store.read(1, BS / 2, data.length)).equals(data)).toBe(true);
    expect(store.scan(1)).toEqual([]);
  }));

  it('a short prepared block over a longer stored one keeps the rest of the stored block', () =>
    inActor((storage) => {
    const { store } = blockStore(storage);
    const first = bytes(BS, 3);
    store.create(1, 1);
    store.write(1, 0, first);
    const short = bytes(100, 4);
    store.write(1, 0, prepareBlocks(short, BS));
    const expected = Buffer.concat([short, first.subarray(100)]);
    expect(Buffer.from(store.read(1, 0, BS)).equals(expected)).toBe(true);
    expect(store.scan(1)).toEqual([]);
  }));
});
