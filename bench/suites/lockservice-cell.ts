import { cellConfig } from '@actorfs/lockservice';
import type { PaxosTiming } from '@actorfs/paxos';

/** Paxos settings to try against the cell's defaults, as JSON (e.g. LS_BENCH_PAXOS='{"maxInflightSlots":2}'); the workers read the same. */
const PAXOS_OVERRIDES = JSON.parse(process.env.LS_BENCH_PAXOS ?? '{}') as Partial<PaxosTiming>;

/** The master's batch of one turn's commands (CellConfig.masterBatch), for A/B runs (e.g. LS_BENCH_MASTER_BATCH=4096); the workers read the same. */
const MASTER_BATCH = Number(process.env.LS_BENCH_MASTER_BATCH ?? 0);

/** The benchmarked cell: 5 replicas on worker nodes, default timings but a 2 s session lease (failover_ms). */
export const BENCH_CELL = cellConfig('bench', {
  nodes: ['w1', 'w2', 'w3', 'w4', 'w5'],
  timing: { leaseMs: 2000, answerBeforeEndMs: 300 },
  paxos: { leaseMs: 1000, ...PAXOS_OVERRIDES },
  masterBatch: MASTER_BATCH,
});

/** The cell whose master keeps many sessions alive (sessions_held): the same workers, default timings. */
export const HELD_CELL = cellConfig('held', { nodes: BENCH_CELL.nodes });
