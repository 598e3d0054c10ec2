/** Stopped actor names a node remembers (for the dead-letter reason); the oldest go first. */
const MAX_STOPPED_NAMES = 10_000;

/**
 * Which ids named actors of this node that have stopped (this incarnation of the node), so a
 * message to one is a dead letter as `stopped`, not `no-such-actor`.
 */
export class StoppedNames {
  /** Names of stopped actors, oldest first. */
  private readonly names = new Set<string>();
  /** The last life given to a name spawned again. */
  private lives = 0;
  /** Whether any name was forgotten: then no name's first life is known to be its first. */
  private forgotten = false;

  remember(id: string): void {
    if (id.startsWith('~')) return; // a generated id below nextId was spawned here once: see has
    this.names.add(id);
    // Bounded: beyond this many, the oldest names are forgotten (their messages say no-such-actor).
    if (this.names.size > MAX_STOPPED_NAMES) {
      this.names.delete(this.names.values().next().value!);
      this.forgotten = true;
    }
  }

  /**
   * Which life of `id` a spawn starts on this incarnation of the node (call it before `forget`):
   * 0 for a name's first, else a number no other life here had, so a name spawned again draws a
   * fresh random stream (a node started again already has a fresh seed).
   */
  lifeOf(id: string): number {
    if (id.startsWith('~')) return 0; // generated ids never repeat
    return this.names.has(id) || this.forgotten ? ++this.lives : 0;
  }

  /** A name spawned again is alive again. */
  forget(id: string): void {
    this.names.delete(id);
  }

  /** Whether `id` was stopped; generated ids (`~` and a counter below nextId) are known by their counter. */
  has(id: string, nextId: number): boolean {
    if (!id.startsWith('~')) return this.names.has(id);
    const n = Number.parseInt(id.slice(1), 36);
    return `~${n.toString(36)}` === id && n >= 1 && n < nextId;
  }
}
