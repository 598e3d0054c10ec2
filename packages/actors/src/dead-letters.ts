import type { DeadLetterReason } from './errors.ts';

export interface DeadLetter {
  /** `id@node` of the intended receiver. */
  target: string;
  reason: DeadLetterReason;
  /** The message's `type` when it had one. */
  messageType?: string;
  detail?: string;
  time: number;
}

/** Counts dead letters by reason and keeps the most recent ones for inspection. Bounded. */
export class DeadLetters {
  readonly counts: Partial<Record<DeadLetterReason, number>> = {};
  total = 0;
  private readonly recentRing: DeadLetter[] = [];
  private listeners: Array<(d: DeadLetter) => void> = [];

  constructor(private readonly keep = 100) {}

  record(d: DeadLetter): void {
    this.total++;
    this.counts[d.reason] = (this.counts[d.reason] ?? 0) + 1;
    if (this.recentRing.length >= this.keep) this.recentRing.shift();
    this.recentRing.push(d);
    for (const l of this.listeners) l(d);
  }

  recent(): DeadLetter[] {
    return [...this.recentRing];
  }

  subscribe(listener: (d: DeadLetter) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}

export function messageTypeOf(msg: unknown): string | undefined {
  if (typeof msg === 'object' && msg !== null && 'type' in msg) {
    const t = (msg as { type: unknown }).type;
    return typeof t === 'string' ? t : undefined;
  }
  return undefined;
}
