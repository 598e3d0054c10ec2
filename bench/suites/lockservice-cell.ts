import { cellConfig } from '@actorfs/lockservice';

/** The benchmarked cell: 5 replicas on worker nodes, default timings but a 2 s session lease (failover_ms). */
export const BENCH_CELL = cellConfig('bench', {
  nodes: ['w1', 'w2', 'w3', 'w4', 'w5'],
  timing: { leaseMs: 2000, answerBeforeEndMs: 300 },
  paxos: { leaseMs: 1000 },
});

/** The cell whose master keeps many sessions alive (sessions_held): the same workers, default timings. */
export const HELD_CELL = cellConfig('held', { nodes: BENCH_CELL.nodes });
