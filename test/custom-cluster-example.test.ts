import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAYOUT, runCustomCluster, type ClusterSummary } from '../examples/custom-cluster/cluster.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'custom-cluster-test-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('examples/custom-cluster: a 5-acceptor, 2-proposer, 3-learner Paxos group on worker threads', () => {
  let s: ClusterSummary;

  // One run of the example (its every wait bounded by waitMs) backs each claim below.
  beforeAll(async () => {
    s = await runCustomCluster({ dataDir, writesPerPhase: 20, waitMs: 20_000 });
  });

  it('a leader emerges, and it is the one whose node gets killed', () => {
    expect(LAYOUT.proposers).toContain(s.firstLeader.node);
    expect(s.killedNode).toBe(s.firstLeader.node);
  });

  it('a linearizable read returns the last acknowledged write', () => {
    expect(s.firstRead.read).toBe(s.firstRead.wrote);
  });

  it("after the leader's node is killed, the other proposer leads", () => {
    expect(s.newLeader.proposer).not.toBe(s.firstLeader.proposer);
    expect(s.newLeader.node).not.toBe(s.killedNode);
    expect(s.newLeader.round).toBeGreaterThan(s.firstLeader.round);
  });

  it('writes keep being acknowledged after the kill, and every acknowledged write is readable afterwards', () => {
    expect(s.writes.filter((w) => !w.afterKill).length).toBeGreaterThanOrEqual(20);
    expect(s.writes.filter((w) => w.afterKill).length).toBeGreaterThanOrEqual(20);
    expect(s.writes.filter((w) => w.readBack !== w.value)).toEqual([]);
  });

  it('the killed node, started again and re-spawned with one call, serves again while writes go on', () => {
    expect(s.restarted.node).toBe(s.killedNode);
    expect(['follower', 'candidate', 'leader']).toContain(s.restarted.role); // its proposer answers
    expect(LAYOUT.proposers.map((_, i) => i)).toContain(s.restarted.leader); // someone leads, by the proposers' account
    expect(s.restarted.writesAfter).toBeGreaterThanOrEqual(20);
  });

  it('the learners on live nodes converge to the same applied index and the same state', () => {
    expect(s.learners.map((l) => l.node).sort()).toEqual([...LAYOUT.learners].sort());
    expect(s.commitIndex).toBeGreaterThanOrEqual(s.writes.length);
    for (const l of s.learners) expect(l.applied).toBe(s.commitIndex);
    expect(new Set(s.learners.map((l) => l.stateDigest)).size).toBe(1);
  });
});
