import type { PaxosClient } from '@actorfs/paxos';
import type { LsMachine } from './machine.ts';
import type { LsQueryResults, SessionId } from './protocol.ts';

/** Unknown sessions looked up in the database at once at most; a request naming one more is refused as `busy`. */
export const MAX_SESSION_LOOKUPS = 1_000;

/** Why a request may not act on the session it names: a wrong secret, or too many unknown sessions being looked up. */
export type OwnerRefusal = 'notOwner' | 'busy';

/** A request waiting for its session to be looked up. */
interface OwnerWait {
  secret: string | undefined;
  go: () => void;
  refuse: (why: OwnerRefusal) => void;
}

/**
 * Who may act on a session: each live session's secret as the master knows it ('' for one opened
 * without), and the lookups of sessions it does not know yet.
 */
export class SessionOwners {
  private readonly secrets = new Map<SessionId, string>();
  private readonly lookups = new Map<SessionId, OwnerWait[]>();

  constructor(
    private readonly paxos: PaxosClient<LsMachine>,
    /** A live session the database named that this master did not know. */
    private readonly found: (session: SessionId) => void,
    /** The master's term ended: lookups settle as failed. */
    private readonly stopped: () => boolean,
  ) {}

  set(session: SessionId, secret: string): void {
    this.secrets.set(session, secret);
  }

  delete(session: SessionId): void {
    this.secrets.delete(session);
  }

  /**
   * Runs `go` once a request naming `session` (or none) with `secret` may act on it, or `refuse`.
   * A session this master does not know is read from the database first: one whose open this
   * master proposed but did not hear answered is known once the database's note of it arrives,
   * or here, whichever is first (a deposed master's late open is refused by the database); one not
   * live is left to the database, which refuses the request itself.
   */
  whenOwner(session: SessionId | undefined, secret: string | undefined, go: () => void, refuse: (why: OwnerRefusal) => void): void {
    const known = session === undefined ? '' : this.secrets.get(session);
    if (known !== undefined) return known === '' || known === secret ? go() : refuse('notOwner');
    const waiting = this.lookups.get(session!);
    if (waiting) return void waiting.push({ secret, go, refuse });
    if (this.lookups.size >= MAX_SESSION_LOOKUPS) return refuse('busy');
    this.lookups.set(session!, [{ secret, go, refuse }]);
    this.lookUp(session!);
  }

  private lookUp(session: SessionId): void {
    const settle = (live: string | undefined, readFailed: boolean): void => {
      const waits = this.lookups.get(session) ?? [];
      this.lookups.delete(session);
      const failed = readFailed || this.stopped();
      if (!failed && live !== undefined && !this.secrets.has(session)) {
        this.secrets.set(session, live);
        this.found(session);
      }
      for (const w of waits) {
        if (failed) w.refuse('busy');
        else if (live === undefined || live === '' || live === w.secret) w.go();
        else w.refuse('notOwner');
      }
    };
    this.paxos.read({ type: 'sessions', session }).then(
      (out) => {
        const found = out.ok ? (out.result as LsQueryResults['sessions']) : undefined;
        settle(found?.sessions.length === 1 ? (found.secrets[0] ?? '') : undefined, !out.ok);
      },
      () => settle(undefined, true),
    );
  }
}
