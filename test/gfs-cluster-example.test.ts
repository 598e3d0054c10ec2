import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPENDERS, RECORDS_PER_APPENDER, runGfsCluster } from '../examples/gfs-cluster/cluster.ts';

describe('examples/gfs-cluster: a master and three chunkservers on worker threads', () => {
  it('a file written, appended to by 4 clients, snapshotted and read back verified; a killed chunkserver\'s chunk re-replicated', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gfs-cluster-test-'));
    try {
      const s = await runGfsCluster({ dataDir });
      expect(s.chunks).toBe(4);
      expect(s.dataVerified).toBe(true);
      expect(s.records).toBe(APPENDERS * RECORDS_PER_APPENDER);
      expect(s.recordsAtTheirOffsets).toBe(true);
      expect(s.snapshotIsolated).toBe(true);
      expect(s.replicasBefore).toContain(s.victim);
      expect(s.replicasAfter).toHaveLength(2);
      expect(s.replicasAfter).not.toContain(s.victim);
      expect(s.dataAfterKill).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
