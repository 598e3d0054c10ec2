import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ActorNode, ActorSystem, MemoryStore, type DurableStore } from '../src/index.ts';
import { NodeStorage } from '../src/storage/node-storage.ts';
import { SimCluster } from '../src/testing/index.ts';
import { realEnv } from '../src/thread/real-env.ts';
import { DomainWriter } from './fixtures/domain-kinds.ts';
import { until } from './helpers.ts';

describe('storage domains', () => {
  it('one domain\'s commits never delay another\'s durable replies: a stuck bulk disk leaves the default domain answering', async () => {
    const stuck: Array<() => void> = [];
    const node = new ActorNode({
      name: 'n',
      env: realEnv,
      seed: 1,
      logSink: () => undefined,
      openStore: (domain) => (domain === 'bulk' ? new MemoryStore((done) => stuck.push(done)) : new MemoryStore()),
    });
    const bulk = node.spawn(DomainWriter, {}, { storageDomain: 'bulk' });
    const acceptor = node.spawn(DomainWriter, {});
    const bulkReply = node.ask(bulk, { type: 'put', key: 'chunk', bytes: 65_536 }, 20_000);
    await until(() => stuck.length === 1, 'the bulk commit started');
    // The bulk commit is not synced, yet the other domain's durable reply comes.
    expect(await node.ask(acceptor, { type: 'put', key: 'promise', bytes: 10 }, 20_000)).toBe('promise');
    let bulkDone = false;
    void bulkReply.then(() => (bulkDone = true));
    await new Promise((r) => setImmediate(r));
    expect(bulkDone).toBe(false); // never acknowledged before its own sync
    stuck.shift()!();
    expect(await bulkReply).toBe('chunk');
    await node.shutdown();
  });

  it('writes waiting for their commit are bounded in bytes: past the bound the writer\'s next message waits for the commit', async () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'], fsyncMs: [50, 50], storageDomains: { bulk: { maxPendingBytes: 100_000 } } });
    const writer = sim.spawn('a', DomainWriter, {}, { storageDomain: 'bulk' });
    for (let i = 0; i < 5; i++) sim.tell(writer, { type: 'put-tell', key: `k${i}`, bytes: 60_000 });
    await sim.runFor(10);
    // Two puts (120 KB) took the domain past its bound; the other three wait in the mailbox.
    expect(sim.node('a').stats().mailboxTotal).toBe(3);
    await sim.runFor(40);
    expect(sim.node('a').stats().mailboxTotal).toBe(3); // nothing moves until the commit is synced
    await sim.runFor(500);
    expect(sim.node('a').stats().mailboxTotal).toBe(0);
    for (let i = 0; i < 5; i++) expect(await sim.call(writer, { type: 'get', key: `k${i}` })).toBe(60_000);
    expect(sim.store('a', 'bulk').size).toBe(5);
    expect(sim.store('a').size).toBe(0); // the default domain is another disk
  });

  it('a writer over the bound stops within its run, not after its whole message budget', async () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'], fsyncMs: [50, 50], storageDomains: { bulk: { maxPendingBytes: 100_000 } } });
    const writer = sim.spawn('a', DomainWriter, {}, { storageDomain: 'bulk' });
    sim.tell(writer, { type: 'burst', count: 5, bytes: 60_000 });
    await sim.runFor(10);
    // The five put-tells were queued at once and run in one go: two took the domain past its bound.
    expect(sim.node('a').stats().mailboxTotal).toBe(3);
    await sim.runFor(500);
    expect(sim.node('a').stats().mailboxTotal).toBe(0);
    expect(sim.store('a', 'bulk').size).toBe(5);
  });

  it('a commit takes writes until they reach maxCommitBytes, and a durable wait ends only with the commit that takes its last write', async () => {
    const fsyncs: Array<() => void> = [];
    const inner = new MemoryStore((done) => fsyncs.push(done));
    const commitSizes: number[] = [];
    const store: DurableStore = {
      get: (k) => inner.get(k),
      range: (o) => inner.range(o),
      commit: (writes) => {
        commitSizes.push(writes.reduce((n, [, v]) => n + (v?.length ?? 0), 0));
        return inner.commit(writes);
      },
      close: () => inner.close(),
    };
    const storage = new NodeStorage(store, () => undefined, (fn) => void setTimeout(fn, 0), undefined, 100_000);
    for (let i = 0; i < 5; i++) storage.put(['k', i], new Uint8Array(40_000));
    storage.put(['big'], new Uint8Array(150_000)); // over the bound alone: a commit of its own
    storage.put(['last'], new Uint8Array(10_000));
    let durable = false;
    storage.afterDurable(() => (durable = true));
    for (let i = 0; i < 3; i++) storage.commitIfDirty();
    // 40 + 40 + 40 reach 100 KB; 40 + 40 do not, so the big one joins them; the last goes alone.
    expect(commitSizes.map((n) => Math.floor(n / 10_000))).toEqual([12, 23, 1]);
    while (fsyncs.length > 1) {
      fsyncs.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(durable).toBe(false); // its last write is in the commit not yet synced
    fsyncs.shift()!();
    await until(() => durable, 'the durable wait ended');
    expect(inner.size).toBe(7);
  });

  it('a writer that fills a commit ends its node\'s turn, so the commit starts while it writes on', () => {
    const turns: Array<() => void> = [];
    const commits: number[] = [];
    const inner = new MemoryStore(() => undefined); // never synced: only when commits start matters
    const node = new ActorNode({
      name: 'n',
      seed: 1,
      logSink: () => undefined,
      env: { now: () => 0, setTimer: () => 0, clearTimer: () => undefined, defer: (fn) => turns.push(fn) },
      openStore: () => ({ get: (k) => inner.get(k), range: (o) => inner.range(o), commit: (w) => (commits.push(w.length), inner.commit(w)), close: () => inner.close() }),
      storageDomains: { default: { maxCommitBytes: 100_000 } },
    });
    const writer = node.spawn(DomainWriter, {});
    node.tell(writer, { type: 'burst', count: 4, bytes: 60_000 });
    turns.shift()!();
    // Two puts reached 100 KB: the turn ended there and their commit started; two puts wait.
    expect(commits).toEqual([2]);
    expect(node.stats().mailboxTotal).toBe(2);
    turns.shift()!();
    expect(commits).toEqual([2, 2]);
    expect(node.stats().mailboxTotal).toBe(0);
  });

  it('a bad domain name is refused at spawn', () => {
    const sim = new SimCluster({ seed: 1, nodes: ['a'] });
    expect(() => sim.spawn('a', DomainWriter, {}, { storageDomain: '../etc' })).toThrow(/bad storage domain name/);
  });
});

describe('storage domains on LMDB', () => {
  let sys: ActorSystem;
  beforeAll(async () => {
    sys = await ActorSystem.start({
      workers: 1,
      modules: [new URL('./fixtures/domain-kinds.ts', import.meta.url)],
      storageDomains: { bulk: { mapSizeBytes: 2 ** 30, syncMode: 'overlapping' } },
    });
  });
  afterAll(async () => {
    await sys.shutdown();
  });

  it('each domain is its own LMDB environment, with its own options, and durable writes survive a killed node', async () => {
    const bulk = await sys.spawn(DomainWriter, {}, { node: 'w1', name: 'bulk', storageDomain: 'bulk' });
    const plain = await sys.spawn(DomainWriter, {}, { node: 'w1', name: 'plain' });
    for (let i = 0; i < 20; i++) expect(await sys.ask(bulk, { type: 'put', key: `c${i}`, bytes: 65_536 })).toBe(`c${i}`);
    expect(await sys.ask(plain, { type: 'put', key: 'p', bytes: 3 })).toBe('p');
    expect(existsSync(join(sys.config.dataDir, 'w1@bulk', 'data.mdb'))).toBe(true);
    expect(existsSync(join(sys.config.dataDir, 'w1', 'data.mdb'))).toBe(true);
    await sys.killNode('w1');
    await sys.startNode('w1');
    const bulk2 = await sys.spawn(DomainWriter, {}, { node: 'w1', name: 'bulk', storageDomain: 'bulk' });
    const plain2 = await sys.spawn(DomainWriter, {}, { node: 'w1', name: 'plain' });
    for (let i = 0; i < 20; i++) expect(await sys.ask(bulk2, { type: 'get', key: `c${i}` })).toBe(65_536);
    expect(await sys.ask(plain2, { type: 'get', key: 'p' })).toBe(3);
    expect(await sys.ask(plain2, { type: 'get', key: 'c0' })).toBe(null); // another domain's keys are not here
  });
});
