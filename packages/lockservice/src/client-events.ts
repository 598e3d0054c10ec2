import type { ClientEvent } from './client-protocol.ts';

/** Events kept for the application at most; past it the oldest are dropped and the next take says so. */
export const MAX_BUFFERED_EVENTS = 10_000;

/** The events a client session holds for its application until it takes them. */
export class EventBuffer {
  private buffered: ClientEvent[] = [];
  private lost = false;

  get length(): number {
    return this.buffered.length;
  }

  emit(e: ClientEvent): void {
    if (this.buffered.length >= MAX_BUFFERED_EVENTS) {
      this.buffered.shift();
      this.lost = true;
    }
    this.buffered.push(e);
  }

  /** Some events never reached the client: the next take says so. */
  markLost(): void {
    this.lost = true;
  }

  take(): { events: ClientEvent[]; lost: boolean } {
    const out = { events: this.buffered, lost: this.lost };
    [this.buffered, this.lost] = [[], false];
    return out;
  }
}
