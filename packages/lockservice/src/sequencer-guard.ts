/**
 * The helper another server (a GFS chunkserver, say) uses to fence a lock holder without asking
 * the cell: it keeps the newest sequencer it has seen per lock and refuses an older one. A
 * deposed holder still carries its old generation, so once the new holder's sequencer has been
 * seen, the old one is refused. Pure: no clock, no I/O.
 */
import { failure, type Outcome } from './errors.ts';
import type { LockMode, Sequencer } from './protocol.ts';

export class SequencerGuard {
  private readonly newest = new Map<string, { mode: LockMode; generation: number }>();

  /**
   * @param maxLocks locks tracked at most. A sequencer for another lock past it is refused
   * (LIMIT_REACHED): forgetting a lock would let its stale sequencers through.
   */
  constructor(readonly maxLocks = 10_000) {}

  /** Accepts a sequencer as new as the newest seen for its lock (and remembers it), or says why not. */
  check(sequencer: unknown): Outcome<Sequencer> {
    const problem = sequencerProblem(sequencer);
    if (problem) return failure('BAD_REQUEST', problem);
    const s = sequencer as Sequencer;
    const seen = this.newest.get(s.lock);
    const shown = `sequencer (${s.lock}, ${s.mode}, generation ${s.generation})`;
    if (seen === undefined) {
      if (this.newest.size >= this.maxLocks) return failure('LIMIT_REACHED', `${shown} refused: already tracking ${this.newest.size} locks (maxLocks)`);
    } else if (s.generation < seen.generation) {
      return failure('STALE_SEQUENCER', `${shown} is stale: generation ${seen.generation} of that lock has been seen`);
    } else if (s.generation === seen.generation && s.mode !== seen.mode) {
      return failure('STALE_SEQUENCER', `${shown} does not match: generation ${s.generation} of that lock was seen in ${seen.mode} mode`);
    }
    this.newest.set(s.lock, { mode: s.mode, generation: s.generation });
    return { ok: true, result: { lock: s.lock, mode: s.mode, generation: s.generation } };
  }
}

export function sequencerProblem(sequencer: unknown): string | undefined {
  const s = sequencer as Partial<Sequencer> | null;
  if (typeof s !== 'object' || s === null) return 'a sequencer must be an object { lock, mode, generation }';
  if (typeof s.lock !== 'string' || s.lock.length === 0) return 'sequencer.lock must be a non-empty string';
  if (s.mode !== 'exclusive' && s.mode !== 'shared') return 'sequencer.mode must be exclusive or shared';
  if (!Number.isSafeInteger(s.generation) || (s.generation as number) < 1) return 'sequencer.generation must be a positive integer';
  return undefined;
}
