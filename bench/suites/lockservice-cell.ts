import { cellConfig } from '@actorfs/lockservice';
import type { PaxosTiming } from '@actorfs/paxos';

/** Paxos settings to try against the cell's defaults, as JSON (e.g. LS_BENCH_PAXOS='{"maxInflightSlots":2}'); the workers read the same. */
const PAXOS_OVERRIDES = JSON.parse(process.env.LS_BENCH_PAXOS ?? '{}') as Partial<PaxosTiming>;

/** The benchmarked cell: 5 replicas on worker nodes, default timings but a 2 s session lease (failover_ms). */
export const BENCH_CELL = cellConfig('bench', {
  nodes: ['w1', 'w2', 'w3', 'w4', 'w5'],
  timing: { leaseMs: 2000, answerBeforeEndMs: 300 },
  paxos: { leaseMs: 1000, ...PAXOS_OVERRIDES },
});

/** The cell whose master keeps many sessions alive (sessions_held): the same workers, default timings. */
export const HELD_CELL = cellConfig('held', { nodes: BENCH_CELL.nodes });
