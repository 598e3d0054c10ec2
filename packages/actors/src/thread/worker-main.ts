import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { workerData, type MessagePort } from 'node:worker_threads';
import { consoleSink } from '../log.ts';
import { ActorNode } from '../node.ts';
import { hashString } from '../random.ts';
import { domainPath, LmdbStore } from '../storage/lmdb-store.ts';
import { piscinaPools } from '../tasks/piscina-pools.ts';
import '../pool.ts'; // built-in kinds exist on every node
import { makeAdmin } from './admin.ts';
import type { NodeConfig } from './node-config.ts';
import { PortTransport } from './port-transport.ts';
import { realEnv } from './real-env.ts';

/** A worker node: load the kinds' modules, build the node, and serve the control plane. */
const { name, config, control } = workerData as { name: string; config: NodeConfig; control: MessagePort };

for (const m of config.modules) await import(m);

const node = new ActorNode({
  name,
  env: realEnv,
  // Same-named actors on different nodes must not draw the same values (the simulator does the same).
  seed: hashString(name, config.seed),
  logSink: consoleSink(config.logLevel),
  openStore: (domain, opts) => LmdbStore.open(domainPath(config.dataDir, name, domain), opts),
  storageDomains: config.storageDomains,
  mailboxCapacity: config.mailboxCapacity,
  defaultAskTimeoutMs: config.defaultAskTimeoutMs,
  taskPools: piscinaPools,
});
const transport = new PortTransport(node, config.maxMessageBytes);
node.transport = transport;
expose(makeAdmin(node, transport), nodeEndpoint(control));
