/**
 * `npx tsx --conditions=@actorfs/source examples/custom-cluster/main.ts`: composes a Multi-Paxos group of 5 acceptors,
 * 2 proposers and 3 learners on 5 worker threads, writes through it, kills the leader's thread
 * and watches the other proposer take over. State is kept in LMDB under data/custom-cluster
 * (DATA_DIR overrides it), so a second run recovers the first run's log before it starts.
 */
import { join } from 'node:path';
import { runCustomCluster } from './cluster.ts';

const dataDir = process.env.DATA_DIR ?? join(import.meta.dirname, '..', '..', 'data', 'custom-cluster');
console.log(`custom cluster (data in ${dataDir})`);
const s = await runCustomCluster({ dataDir, log: (line) => console.log(`  ${line}`) });

const lost = s.writes.filter((w) => w.readBack !== w.value).length;
const applied = [...new Set(s.learners.map((l) => l.applied))];
console.log(
  `leader moved from proposer ${s.firstLeader.proposer} (${s.firstLeader.node}) to proposer ${s.newLeader.proposer} (${s.newLeader.node}) in ${s.failoverMs} ms; ` +
    `${s.writes.length} acknowledged writes, ${lost} lost; live learners at applied index ${applied.join(' / ')} (commit index ${s.commitIndex})`,
);
