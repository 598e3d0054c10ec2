import { performance } from 'node:perf_hooks';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Printed beside the value, e.g. ">= 2,500,000". */
  goal?: string;
}

export type Figures = Record<string, { value: number; unit: string }>;

export interface Suite {
  /** Runs the measurements, reporting each figure as it is measured; returns them all. */
  run(report: (f: Figure) => void): Promise<Figures>;
}

/** Collects figures and reports them as they come. */
export function collector(report: (f: Figure) => void): { add: (f: Figure) => void; figures: Figures } {
  const figures: Figures = {};
  return {
    figures,
    add: (f) => {
      figures[f.name] = { value: f.value, unit: f.unit };
      report(f);
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** Operations per second of `loops` closed loops, each running `op` back to back, over spanMs after warmMs. */
export async function closedLoopRate(loops: number, op: (loop: number, n: number) => Promise<void>, spanMs: number, warmMs = 500): Promise<number> {
  let count = 0;
  let stop = false;
  const running = Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; !stop; n++) {
      await op(loop, n);
      count++;
    }
  });
  await new Promise((r) => setTimeout(r, warmMs));
  const [c0, t0] = [count, performance.now()];
  await new Promise((r) => setTimeout(r, spanMs));
  const perSec = ((count - c0) / (performance.now() - t0)) * 1000;
  stop = true;
  await Promise.all(running);
  return perSec;
}
