import { cellConfig } from '@actorfs/lockservice';

/** The lock-service cell that elects the benchmarked GFS master: 3 replicas, 2 s session leases, 1 s lock-delay. */
export const GFS_FAILOVER_CELL = cellConfig('gfsbench', {
  nodes: ['l1', 'l2', 'l3'],
  defaultLockDelayMs: 1000,
  timing: { leaseMs: 2000, answerBeforeEndMs: 300 },
  paxos: { leaseMs: 1000 },
});
