import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ActorSystem, type ActorRef } from '@actorfs/actors';
import { Chunkserver } from '../src/chunkserver/chunkserver-actor.ts';
import { Master } from '../src/master/master-actor.ts';
import type { ChunkserverMsg, MasterMsg } from '../src/protocol.ts';

const modules = [new URL('../src/master/master-actor.ts', import.meta.url), new URL('../src/chunkserver/chunkserver-actor.ts', import.meta.url)];
const config = { chunkSizeBytes: 1024 * 1024, heartbeatIntervalMs: 50, serverTimeoutMs: 400, scanIntervalMs: 50 };
const racks = ['A', 'B', 'C'];
// bytes are compared with Buffer.equals: toEqual walks a large buffer element by element, slowly

let sys: ActorSystem;
let master: ActorRef<MasterMsg>;
const chunkservers = new Map<string, ActorRef<ChunkserverMsg>>();

async function until(what: string, pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const startMaster = async (): Promise<ActorRef<MasterMsg>> => sys.spawn(Master, { config }, { node: 'm', name: 'master' });
const replicasOf = async (path: string): Promise<string[]> => (await sys.ask(master, { type: 'locate', path, index: 0 })).replicas;

beforeAll(async () => {
  sys = await ActorSystem.start({ workers: ['m', 'c1', 'c2', 'c3'], modules });
  master = await startMaster();
  for (const [i, rack] of racks.entries()) {
    const server = `cs${i + 1}`;
    chunkservers.set(server, await sys.spawn(Chunkserver, { server, rack, master, capacityBytes: 1 << 30, config }, { node: `c${i + 1}`, name: 'chunkserver' }));
  }
}, 120_000);

afterAll(async () => {
  await sys.shutdown();
});

describe('master and chunkservers on worker threads with LMDB', () => {
  it('a new chunk lands on three chunkservers, its data reads back from each, and the master learns the replicas from heartbeats', async () => {
    await until('all chunkservers reported', async () => (await sys.ask(master, { type: 'status' })).servers.length === 3);
    await sys.ask(master, { type: 'create', path: '/f' });
    const { handle, replicas } = await sys.ask(master, { type: 'add-chunk', path: '/f' });
    expect(replicas.sort()).toEqual(['cs1', 'cs2', 'cs3']);
    await until('three replicas known', async () => (await replicasOf('/f')).length === 3);
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    for (const cs of chunkservers.values()) await sys.ask(cs, { type: 'write', handle, offset: 0, data });
    for (const cs of chunkservers.values()) expect(Buffer.from(await sys.ask(cs, { type: 'read', handle, offset: 0, length: data.length })).equals(data)).toBe(true);
  });

  it('a killed chunkserver is dropped from the locations after its timeout; a restarted master recovers the namespace and relearns locations', async () => {
    await sys.killNode('c1');
    await until('cs1 dropped', async () => !(await replicasOf('/f')).includes('cs1'));
    expect(await replicasOf('/f')).toEqual(['cs2', 'cs3']);
    await sys.killNode('m');
    await sys.startNode('m');
    master = await startMaster();
    expect(await sys.ask(master, { type: 'stat', path: '/f' })).toEqual({ kind: 'file', chunks: 1 });
    await until('locations relearned', async () => (await replicasOf('/f')).length === 2);
    expect(await replicasOf('/f')).toEqual(['cs2', 'cs3']);
  });
});
