import type { Term } from './ha-protocol.ts';

/** The lock generation whose master wrote record `seq` (0 for none: before the first term, or seq 0). */
export function generationOf(terms: readonly Term[], seq: number): number {
  let gen = 0;
  for (const [start, g] of terms) {
    if (start > seq) break;
    gen = g;
  }
  return seq <= 0 ? 0 : gen;
}

/** The terms with a new one starting at `start` (replacing any that start there or later: they wrote nothing this log keeps). */
export function withTerm(terms: readonly Term[], start: number, generation: number): Term[] {
  return [...terms.filter(([s]) => s < start), [start, generation]];
}
