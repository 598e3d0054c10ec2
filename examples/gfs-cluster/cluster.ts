import { ActorSystem } from '@actorfs/actors';
import { GFS_MODULES, GfsClient, gfsClusterConfig, planGfsCluster, type ClientMsg } from '@actorfs/gfs';

/**
 * The example's cluster: a master and three chunkservers on three racks. Small chunks, two
 * replicas (so the third server can take a killed one's chunks), and short heartbeats and
 * timeouts so the example runs in seconds.
 */
export const DEMO_CLUSTER = gfsClusterConfig('demo', {
  racks: ['A', 'B', 'C'],
  config: { chunkSizeBytes: 1024 * 1024, replicas: 2, heartbeatIntervalMs: 100, serverTimeoutMs: 600, scanIntervalMs: 100, leaseMs: 5_000 },
});
export const APPENDERS = 4;
export const RECORDS_PER_APPENDER = 10;
const FILE_BYTES = 3 * 1024 * 1024 + 12_345;

export interface ClusterSummary {
  /** Chunks of /demo/data, and bytes read back equal to those written. */
  chunks: number;
  dataVerified: boolean;
  /** Distinct records the record reader found in /demo/log, and whether each was intact at the offset its append returned. */
  records: number;
  recordsAtTheirOffsets: boolean;
  /** The snapshot still holds the bytes from before the overwrite that followed it. */
  snapshotIsolated: boolean;
  victim: string;
  /** Chunk 0's replicas before and after the victim's thread was killed. */
  replicasBefore: string[];
  replicasAfter: string[];
  dataAfterKill: boolean;
}

/**
 * A file is written, appended to by four clients at once, snapshotted, overwritten, and read
 * back; then a chunkserver holding its first chunk is killed and the master has the chunk
 * cloned to the third server.
 */
export async function runGfsCluster(opts: { dataDir: string; log?: (line: string) => void }): Promise<ClusterSummary> {
  const log = opts.log ?? (() => {});
  const plan = planGfsCluster(DEMO_CLUSTER);
  const system = await ActorSystem.start({ workers: plan.nodes, dataDir: opts.dataDir, modules: [...GFS_MODULES] });
  try {
    for (const node of plan.nodes) await plan.spawnOn(system, node);
    await until('the chunkservers report', async () => (await system.ask(plan.master, { type: 'status' })).servers.length === 3);
    const client = async (name: string): Promise<GfsClient> => new GfsClient(await plan.spawnClient(system, name), (r, msg, o) => system.ask(r, msg as ClientMsg & { type: 'read' }, o));
    const writer = await client('writer');

    await writer.mkdir('/demo');
    await writer.create('/demo/data');
    const data = Uint8Array.from({ length: FILE_BYTES }, (_, i) => (i * 131 + (i >>> 10)) & 0xff);
    await writer.write('/demo/data', 0, data);
    const stat = await writer.stat('/demo/data');
    const chunks = stat.kind === 'file' ? stat.chunks : 0;
    log(`wrote /demo/data: ${FILE_BYTES} bytes in ${chunks} chunks`);

    await writer.create('/demo/log');
    const appenders = await Promise.all(Array.from({ length: APPENDERS }, (_, i) => client(`appender-${i}`)));
    const payload = (id: string): Uint8Array => new TextEncoder().encode(`record ${id} `.repeat(200));
    const offsets = new Map<string, number>();
    await Promise.all(
      appenders.map(async (c, i) => {
        for (let n = 0; n < RECORDS_PER_APPENDER; n++) {
          const id = `c${i}-r${n}`;
          offsets.set(id, await c.append('/demo/log', payload(id), id));
        }
      }),
    );
    log(`${offsets.size} records appended by ${APPENDERS} clients`);

    await writer.snapshot('/demo', '/demo-snap');
    const overwrite = new Uint8Array(100_000).fill(0xee);
    await writer.write('/demo/data', 0, overwrite);
    log('snapshot /demo -> /demo-snap, then /demo/data overwritten at its start');

    const expected = data.slice();
    expected.set(overwrite, 0);
    const dataVerified = same(await writer.read('/demo/data', 0, FILE_BYTES), expected);
    const snapshotIsolated = same(await writer.read('/demo-snap/data', 0, FILE_BYTES), data);
    const found = new Map<string, Uint8Array>();
    for await (const r of writer.records('/demo/log')) found.set(r.id, r.payload);
    let recordsAtTheirOffsets = found.size === offsets.size;
    for (const [id, offset] of offsets) {
      recordsAtTheirOffsets &&= found.has(id) && same(found.get(id)!, payload(id));
      const at = await writer.read('/demo/log', offset, 64);
      recordsAtTheirOffsets &&= new TextDecoder().decode(at).includes(id);
    }
    log(`read back: data ${dataVerified ? 'ok' : 'WRONG'}, snapshot ${snapshotIsolated ? 'isolated' : 'CHANGED'}, ${found.size} records`);

    const locate = async (): Promise<string[]> => (await system.ask(plan.master, { type: 'locate', path: '/demo/data', index: 0 })).replicas;
    const replicasBefore = await locate();
    const victim = replicasBefore[0]!;
    await system.killNode(plan.config.chunkservers.find((c) => c.server === victim)!.node);
    log(`killed ${victim}'s thread; chunk 0 was on ${replicasBefore.join(', ')}`);
    let replicasAfter: string[] = [];
    await until('chunk 0 is re-replicated', async () => {
      replicasAfter = await locate();
      return replicasAfter.length === DEMO_CLUSTER.gfs.replicas && !replicasAfter.includes(victim);
    });
    log(`chunk 0 re-replicated: now on ${replicasAfter.join(', ')}`);
    const dataAfterKill = same(await writer.read('/demo/data', 0, FILE_BYTES), expected);
    return { chunks, dataVerified, records: found.size, recordsAtTheirOffsets, snapshotIsolated, victim, replicasBefore, replicasAfter, dataAfterKill };
  } finally {
    await system.shutdown();
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function until(what: string, pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`gfs-cluster example: timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
