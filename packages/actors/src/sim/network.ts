/** Faults on one directed link, or the default for all of them. All probabilities are 0..1. */
export interface LinkFaults {
  /** Probability a message is lost. */
  drop?: number;
  /** Probability a message is delivered twice. */
  duplicate?: number;
  /** Delivery delay range in virtual ms. Default [1, 1]. */
  delayMs?: readonly [number, number];
  /** Let a later message overtake an earlier one on the same link (else FIFO, as on real ports). */
  reorder?: boolean;
}

export type ResolvedFaults = Required<LinkFaults>;

export const noFaults: ResolvedFaults = { drop: 0, duplicate: 0, delayMs: [1, 1], reorder: false };

export function resolveFaults(base: ResolvedFaults, f: LinkFaults | undefined): ResolvedFaults {
  return f ? { ...base, ...f } : base;
}

export function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}
