/**
 * `npx tsx examples/lock-election/main.ts`: three candidate threads elect a leader through a
 * lock in a 3-replica lock-service cell; the leader's thread is killed, another candidate takes
 * over after the lock-delay, and a fenced resource refuses the deposed leader's stale sequencer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLockElection } from './election.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'lock-election-'));
try {
  const s = await runLockElection({ dataDir, log: (line) => console.log(`  ${line}`) });
  console.log(`leader ${s.first} -> ${s.second} in ${s.takeoverMs} ms`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
