import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { workerData, type MessagePort } from 'node:worker_threads';
import '../pool.ts'; // built-in kinds exist on every node
import { makeAdmin } from './admin.ts';
import type { NodeConfig } from './node-config.ts';
import { PortTransport } from './port-transport.ts';
import { startRealNode } from './real-node.ts';

/** A worker node: load the kinds' modules, build the node, and serve the control plane. */
const { name, config, control, incarnation } = workerData as { name: string; config: NodeConfig; control: MessagePort; incarnation: number };

for (const m of config.modules) await import(m);

const node = await startRealNode(name, config, incarnation);
const transport = new PortTransport(node, config.maxMessageBytes);
node.transport = transport;
expose(makeAdmin(node, transport), nodeEndpoint(control));
