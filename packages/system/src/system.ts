import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HaMasterClient, MasterLocator } from '@actorfs/gfs';
import { Cluster } from './cluster.ts';
import type { SystemConfig } from './config.ts';
import { claimDataDir } from './data-dir.ts';
import { CALL_TIMEOUT_MS, Files } from './files.ts';
import { apiHandler } from './http/api.ts';
import { LockClients } from './locks.ts';
import { OpsRate } from './ops-rate.ts';

/** The ops/s chart's span. */
const CHART_SECONDS = 5 * 60;
/** How long a start waits for a GFS master to take office before it serves anyway. */
const AWAIT_MASTER_MS = 120_000;
/** How long a stop waits for CLI sessions to close before the nodes go down anyway. */
const CLOSE_SESSIONS_MS = 3_000;

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

export interface RunningSystem {
  url: string;
  cluster: Cluster;
  /** Closes the HTTP server and the CLI sessions, then stops every node (storage synced and closed). */
  stop(): Promise<string>;
}

/**
 * Claims the data folder, takes the port (before any thread starts, so a port in use costs
 * nothing), starts the cluster and serves the API and status page.
 */
export async function startSystem(config: SystemConfig, log: (line: string) => void = () => {}): Promise<RunningSystem> {
  claimDataDir(config.dataDir);
  let handler: RequestListener | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(`${JSON.stringify({ error: 'the system is still starting' })}\n`);
  });
  await listen(server, config.http.port);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  log(`listening on ${url}; starting ${config.lockCell.nodes.length} lock replicas, ${config.gfs.masters.length + config.gfs.shadows.length} GFS master replicas and ${config.gfs.chunkservers.length} chunkservers…`);
  let cluster: Cluster;
  try {
    cluster = await Cluster.start(config);
  } catch (err) {
    server.close();
    throw err;
  }
  log('waiting for a GFS master replica to take office (after a restart, the previous master\'s lock-service session must end first)…');
  const master = await cluster.awaitMaster(AWAIT_MASTER_MS);
  log(master ? `GFS master: ${master.name} (lock generation ${master.generation ?? '?'})` : `no GFS master took office within ${AWAIT_MASTER_MS / 1000} s; serving anyway (the status page shows the replicas)`);
  const locator = await cluster.system.spawn(MasterLocator, { lock: cluster.lock, principal: 'actorfs-files' }, { name: 'gfs-master-locator' });
  const masterClient = new HaMasterClient({ locator, ask: cluster.system.ask.bind(cluster.system), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), findMasterMs: CALL_TIMEOUT_MS });
  const files = new Files(cluster.system, masterClient, await cluster.gfs.spawnClient(cluster.system, 'gfs-client'));
  const locks = new LockClients(cluster.system, cluster);
  const ops = new OpsRate(CHART_SECONDS);
  handler = apiHandler({ cluster, files, locks, ops, startedAt: Date.now() });
  return {
    url,
    cluster,
    stop: async () => {
      server.close();
      server.closeAllConnections();
      await Promise.race([locks.closeAll(), new Promise((r) => setTimeout(r, CLOSE_SESSIONS_MS))]);
      const report = await cluster.system.shutdown();
      return report.terminated.length === 0 ? `${report.graceful.length} nodes stopped cleanly` : `nodes terminated after the grace period: ${report.terminated.join(', ')}`;
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(`port ${port} on 127.0.0.1 is in use (another actorfs, or another program); choose another with --port N or http.port in the config`));
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
}
