/**
 * `npx tsx --conditions=@actorfs/source examples/gfs-cluster/main.ts`: a GFS master and three
 * chunkservers on worker threads; a file written, appended to by four clients, snapshotted, read
 * back and verified; then a chunkserver's thread killed and its chunks re-replicated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGfsCluster } from './cluster.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'gfs-cluster-'));
try {
  const s = await runGfsCluster({ dataDir, log: (line) => console.log(`  ${line}`) });
  const ok = s.dataVerified && s.recordsAtTheirOffsets && s.snapshotIsolated && s.dataAfterKill;
  console.log(ok ? 'all verified' : `NOT verified: ${JSON.stringify(s)}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
