import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ActorSystem } from '@actorfs/actors';
import { CHUNK_DOMAIN, GFS_MODULES, GfsClient, gfsClusterConfig, type GfsClientOptions, planGfsCluster, type ClientMsg, type GfsClusterPlan } from '@actorfs/gfs';
import { rawLmdbGets } from '../raw-lmdb-reads.ts';
import { rawLmdbPuts } from '../raw-lmdb.ts';
import { collector, type Suite } from '../suite.ts';

const MIB = 1024 * 1024;
/** The file one client writes and reads back. */
const WRITE_BYTES = Number(process.env.GFS_BENCH_WRITE_MB ?? 256) * MIB;
/** Each of the 8 appending clients appends this many 1 MiB records. */
const APPENDS_PER_CLIENT = Number(process.env.GFS_BENCH_APPENDS ?? 8);
const CREATE_SPAN_MS = Number(process.env.GFS_BENCH_SPAN_MS ?? 3_000);
const CREATES_IN_FLIGHT = 32;
const RAW_VALUES = 2048; // 128 MiB of 64 KiB values
/** The parts to run, as a comma list (default all); e.g. GFS_BENCH_PARTS=write-read while working on reads (ratios need raw). */
const ALL_PARTS = ['raw', 'create', 'write-read', 'append'] as const;
const PARTS = new Set((process.env.GFS_BENCH_PARTS ?? ALL_PARTS.join(',')).split(','));
for (const p of PARTS) if (!(ALL_PARTS as readonly string[]).includes(p)) throw new Error(`GFS_BENCH_PARTS: unknown part ${p} (known: ${ALL_PARTS.join(', ')})`);

/** The benchmarked cluster: the paper's sizes (64 MiB chunks, 3 replicas), a master and 3 chunkservers on worker nodes, synced LMDB. */
export const BENCH_GFS = gfsClusterConfig('bench', { chunkservers: 3 });

/**
 * GFS on worker threads with synced LMDB, clients on the main thread; with the disk's own limits
 * (raw LMDB writes and reads of 64 KiB values, one environment) in the same run, and each data
 * figure's ratio to them.
 */
export const suite: Suite = {
  async run(report) {
    const { add, figures } = collector(report);
    const dataDir = mkdtempSync(join(tmpdir(), 'gfs-bench-'));
    try {
      let raw: { write: number; read: number } | undefined;
      if (PARTS.has('raw')) {
        const io0 = processIo();
        const write = await rawLmdbPuts(join(dataDir, 'raw-write'), { count: RAW_VALUES, bytes: 64 * 1024, batch: 16, inflight: 4 });
        add({ name: 'lmdb_write_mb_per_s', value: write, unit: 'MiB/s', goal: 'baseline: 64 KiB values, synced, one environment' });
        add({ name: 'lmdb_write_disk_bytes_per_mib', value: (processIo().writeBytes - io0.writeBytes) / RAW_VALUES / (64 * 1024), unit: 'MiB', goal: 'bytes the process wrote to disk per MiB put' });
        const read = await rawLmdbGets(join(dataDir, 'raw-read'), { count: RAW_VALUES, bytes: 64 * 1024 });
        add({ name: 'lmdb_read_mb_per_s', value: read, unit: 'MiB/s', goal: 'baseline: 64 KiB values, one environment' });
        raw = { write, read };
      }

      const plan = planGfsCluster(BENCH_GFS);
      const chunkCommit = process.env.GFS_BENCH_CHUNK_COMMIT_MB ? { storageDomains: { [CHUNK_DOMAIN]: { maxCommitBytes: Number(process.env.GFS_BENCH_CHUNK_COMMIT_MB) * MIB } } } : {};
      const system = await ActorSystem.start({ workers: plan.nodes, dataDir: join(dataDir, 'cluster'), modules: [...GFS_MODULES], ...chunkCommit });
      try {
        for (const node of plan.nodes) await plan.spawnOn(system, node);
        await until(async () => (await system.ask(plan.master, { type: 'status' })).servers.length === plan.config.chunkservers.length);
        const client = async (name: string, opts?: GfsClientOptions): Promise<GfsClient> => new GfsClient(await plan.spawnClient(system, name), (r, msg, o) => system.ask(r, msg as ClientMsg & { type: 'read' }, o), opts);

        if (PARTS.has('create')) {
          const creators = await Promise.all(Array.from({ length: 16 }, (_, i) => client(`create-${i}`)));
          add({ name: 'create_files_per_s', value: await createFiles(creators), unit: 'file/s', goal: '>= 10,000 (each create synced, group commit)' });
        }

        if (PARTS.has('write-read')) {
          const writer = await client('writer', { ...(process.env.GFS_BENCH_CALLS ? { callsInFlight: Number(process.env.GFS_BENCH_CALLS) } : {}), ...(process.env.GFS_BENCH_CALL_MB ? { callBytes: Number(process.env.GFS_BENCH_CALL_MB) * MIB } : {}) });
          const { write, writeCost, read, readerCpuMsPerMib, processCpuMsPerMib } = await writeThenRead(writer, plan, system);
          add({ name: 'write_mb_per_s', value: write, unit: 'MiB/s', goal: '>= 30' });
          if (raw) add({ name: 'write_vs_lmdb_write', value: write / raw.write, unit: 'ratio', goal: '>= 0.25 (3 replicas on one disk: 0.33 at most)' });
          // what a write costs per MiB of the client's data: disk bytes (3 replicas: 3 at least), synced commits, CPU
          add({ name: 'write_disk_bytes_per_mib', value: writeCost.diskMib, unit: 'MiB', goal: 'bytes the process wrote to disk per MiB written (3 replicas)' });
          add({ name: 'write_syscall_bytes_per_mib', value: writeCost.syscallMib, unit: 'MiB', goal: 'bytes the process handed to write calls per MiB written (the rest of the disk bytes is the kernel\'s)' });
          add({ name: 'write_commits_per_mib', value: writeCost.commits, unit: 'commit', goal: 'synced commits of every node per MiB written' });
          add({ name: 'write_process_cpu_ms_per_mib', value: writeCost.cpuMs, unit: 'ms', goal: 'every thread, CPU per MiB written' });
          add({ name: 'read_mb_per_s', value: read, unit: 'MiB/s', goal: '>= 500' });
          if (raw) add({ name: 'read_vs_lmdb_read', value: read / raw.read, unit: 'ratio', goal: '>= 0.4' });
          // what a read costs: every thread's CPU (2 cores here bound the read), and the reading client's own
          add({ name: 'read_process_cpu_ms_per_mib', value: processCpuMsPerMib, unit: 'ms', goal: 'every thread (chunkservers, client, GC), CPU per MiB read' });
          if (readerCpuMsPerMib !== undefined) add({ name: 'read_reader_thread_cpu_ms_per_mib', value: readerCpuMsPerMib, unit: 'ms', goal: 'the reading client\'s thread (main), CPU per MiB read' });
        }

        if (PARTS.has('append')) {
          const appenders = await Promise.all(Array.from({ length: 8 }, (_, i) => client(`append-${i}`)));
          add({ name: 'append_8_clients_mb_per_s', value: await appends(appenders), unit: 'MiB/s', goal: '>= 20 (1 MiB records)' });
        }
      } finally {
        await system.shutdown();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return figures;
  },
};

/** 16 clients creating files in one directory, each with CREATES_IN_FLIGHT creates outstanding (one commit syncs many). */
async function createFiles(clients: GfsClient[]): Promise<number> {
  await clients[0]!.mkdir('/c');
  let count = 0;
  let stop = false;
  const loops = clients.flatMap((c, i) =>
    Array.from({ length: CREATES_IN_FLIGHT }, async (_, j) => {
      for (let n = 0; !stop; n++) {
        await c.create(`/c/f${i}-${j}-${n}`);
        count++;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const [c0, t0] = [count, performance.now()];
  await new Promise((r) => setTimeout(r, CREATE_SPAN_MS));
  const perSec = ((count - c0) / (performance.now() - t0)) * 1000;
  stop = true;
  await Promise.all(loops);
  return perSec;
}

/** One client writes WRITE_BYTES to a new file, then reads it back and checks it. */
async function writeThenRead(
  c: GfsClient,
  plan: GfsClusterPlan,
  system: ActorSystem,
): Promise<{ write: number; writeCost: { diskMib: number; syscallMib: number; commits: number; cpuMs: number }; read: number; readerCpuMsPerMib: number | undefined; processCpuMsPerMib: number }> {
  const data = new Uint8Array(WRITE_BYTES);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i >>> 12) & 0xff;
  await c.create('/big');
  const commits = async (): Promise<number> => (await Promise.all(plan.nodes.map((n) => system.stats(n)))).reduce((sum, s) => sum + s.storage.commits, 0);
  const [io0, commits0, writeCpu0, threads0] = [processIo(), await commits(), process.cpuUsage(), threadCpuMs()];
  let t0 = performance.now();
  await c.write('/big', 0, data);
  const write = WRITE_BYTES / MIB / ((performance.now() - t0) / 1000);
  const writeCpu = process.cpuUsage(writeCpu0);
  if (process.env.GFS_BENCH_THREADS) printThreadCpu(threads0, threadCpuMs(), WRITE_BYTES / MIB);
  const io = processIo();
  const writeCost = { diskMib: (io.writeBytes - io0.writeBytes) / WRITE_BYTES, syscallMib: (io.wchar - io0.wchar) / WRITE_BYTES, commits: ((await commits()) - commits0) / (WRITE_BYTES / MIB), cpuMs: (writeCpu.user + writeCpu.system) / 1000 / (WRITE_BYTES / MIB) };
  const stat = await c.stat('/big');
  if (stat.kind !== 'file' || stat.chunks !== Math.ceil(WRITE_BYTES / plan.config.gfs.chunkSizeBytes)) throw new Error(`/big: unexpected ${JSON.stringify(stat)}`);
  const [cpu0, processCpu0] = [mainThreadCpuMs(), process.cpuUsage()];
  t0 = performance.now();
  // the bytes as they arrive, in pieces the caller owns (no join into one array)
  const back = await c.readPieces('/big', 0, WRITE_BYTES);
  const read = WRITE_BYTES / MIB / ((performance.now() - t0) / 1000);
  const [cpu1, processCpu] = [mainThreadCpuMs(), process.cpuUsage(processCpu0)];
  let at = 0;
  for (const piece of back) {
    if (!Buffer.from(piece).equals(data.subarray(at, at + piece.length))) throw new Error(`/big read back differs from what was written near byte ${at}`);
    at += piece.length;
  }
  if (at !== WRITE_BYTES) throw new Error(`/big read back ${at} bytes, not ${WRITE_BYTES}`);
  const mib = WRITE_BYTES / MIB;
  return { write, writeCost, read, readerCpuMsPerMib: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / mib, processCpuMsPerMib: (processCpu.user + processCpu.system) / 1000 / mib };
}

/** CPU time of the main thread alone (user + system), from Linux's per-thread stat; undefined elsewhere. */
function mainThreadCpuMs(): number | undefined {
  try {
    return taskCpuMs(String(process.pid));
  } catch {
    return undefined;
  }
}

/** A thread's CPU ms from /proc/self/task/<tid>/stat (throws where there is none). */
function taskCpuMs(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // the fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them, in clock ticks (100 a second)
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Bytes this process has written to disk (write_bytes) and handed to write calls (wchar), from Linux's /proc/self/io; 0 elsewhere. */
function processIo(): { writeBytes: number; wchar: number } {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
    return { writeBytes: field('write_bytes'), wchar: field('wchar') };
  } catch {
    return { writeBytes: 0, wchar: 0 };
  }
}

/** CPU ms of each of this process's threads by thread id (Linux); empty elsewhere. */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) out.set(tid, taskCpuMs(tid));
  } catch {
    // not Linux (or a thread ended while read)
  }
  return out;
}

/** Each thread's CPU per MiB between two samples, busiest first (GFS_BENCH_THREADS=1: where a write's time goes). */
function printThreadCpu(before: Map<string, number>, after: Map<string, number>, mib: number): void {
  const rows = [...after].map(([tid, ms]) => ({ tid, msPerMib: (ms - (before.get(tid) ?? 0)) / mib })).filter((r) => r.msPerMib > 0);
  rows.sort((a, b) => b.msPerMib - a.msPerMib);
  for (const r of rows) console.error(`thread ${r.tid}${r.tid === String(process.pid) ? " (main)" : ""}: ${r.msPerMib.toFixed(3)} ms/MiB`);
}

/** 8 clients appending 1 MiB records to one file. */
async function appends(clients: GfsClient[]): Promise<number> {
  await clients[0]!.create('/log');
  const record = new Uint8Array(MIB - 64).fill(1);
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      for (let n = 0; n < APPENDS_PER_CLIENT; n++) await c.append('/log', record, `a${i}-${n}`);
    }),
  );
  return (clients.length * APPENDS_PER_CLIENT * record.length) / MIB / ((performance.now() - t0) / 1000);
}

async function until(pred: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('gfs bench: the chunkservers did not report to the master');
    await new Promise((r) => setTimeout(r, 50));
  }
}
