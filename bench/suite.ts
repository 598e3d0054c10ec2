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
