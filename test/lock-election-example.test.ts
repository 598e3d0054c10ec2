import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANDIDATES, runLockElection } from '../examples/lock-election/election.ts';

describe('examples/lock-election: a leader elected through a lock, fenced by its sequencer', () => {
  it("the leader's thread is killed, another candidate takes over, the stale sequencer is refused", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lock-election-test-'));
    try {
      const s = await runLockElection({ dataDir });
      expect(CANDIDATES).toContain(s.first);
      expect(CANDIDATES).toContain(s.second);
      expect(s.second).not.toBe(s.first);
      expect(s.staleRefusal).toMatch(/^STALE_SEQUENCER/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
