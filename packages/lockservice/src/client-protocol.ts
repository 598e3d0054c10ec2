/** What the promise API asks of a client-session actor. */
import type { Asks } from '@actorfs/actors';
import type { CreateMode, EventKind, HandleId, LockMode, LsEvent, NodeKind, Sequencer, SessionId, Stat } from './protocol.ts';
import type { KeepAliveReply, ServiceError } from './server-protocol.ts';
import type { LsError } from './errors.ts';

export type ClientRequest =
  | { type: 'open'; path: string; create?: CreateMode; kind?: NodeKind; ephemeral?: boolean; contents?: Uint8Array; events?: EventKind[] }
  | { type: 'close'; handle: HandleId }
  | { type: 'getContentsAndStat'; handle: HandleId }
  | { type: 'setContents'; handle: HandleId; contents: Uint8Array; ifGeneration?: number }
  | { type: 'delete'; handle: HandleId }
  | { type: 'readdir'; handle: HandleId }
  | { type: 'stat'; handle: HandleId }
  | { type: 'acquire'; handle: HandleId; mode: LockMode; timeoutMs: number; lockDelayMs?: number }
  | { type: 'tryAcquire'; handle: HandleId; mode: LockMode; lockDelayMs?: number }
  | { type: 'release'; handle: HandleId }
  | { type: 'getSequencer'; handle: HandleId }
  | { type: 'checkSequencer'; sequencer: Sequencer }
  | { type: 'closeSession' };

export interface ClientResults {
  open: { handle: HandleId; created: boolean; stat: Stat };
  close: Record<string, never>;
  getContentsAndStat: { contents: Uint8Array; stat: Stat; cached: boolean };
  /** `repeated`: the write was asked again after its answer was lost, and this is the answer it had (its stat as that write left it). */
  setContents: { stat: Stat; repeated?: true };
  delete: Record<string, never>;
  readdir: { names: string[] };
  stat: { stat: Stat };
  acquire: { sequencer: Sequencer };
  tryAcquire: { sequencer: Sequencer };
  release: Record<string, never>;
  getSequencer: { sequencer: Sequencer };
  checkSequencer: { valid: true };
  closeSession: Record<string, never>;
}

export type ClientReply = { ok: true; result: unknown } | { ok: false; error: ServiceError | LsError };

/** What a session tells its application besides database events. */
export type SessionEvent = { kind: 'jeopardy' } | { kind: 'safe'; failover: boolean } | { kind: 'expired' };
export type ClientEvent = LsEvent | SessionEvent;

export interface ClientStatus {
  session: number | null;
  /** `idle`: the session was ended for idleness; the next call opens a new one. */
  state: 'opening' | 'live' | 'jeopardy' | 'expired' | 'closed' | 'idle';
  master: string | null;
  cached: number;
}

export type ClientMsg =
  | ({ type: 'call'; req: ClientRequest } & Asks<ClientReply>)
  /**
   * The events delivered since the last take (at most MAX_BUFFERED_EVENTS; `lost` says some were
   * dropped). With `waitMs` and none buffered, the answer is held and pushed as soon as one arrives
   * (empty after waitMs).
   */
  | ({ type: 'takeEvents'; waitMs?: number } & Asks<{ events: ClientEvent[]; lost: boolean }>)
  | { type: 'watchTimeout'; id: number }
  | ({ type: 'status' } & Asks<ClientStatus>)
  /** `acks`: the invalidations the KeepAlive acknowledged (sent again if it failed). */
  | { type: 'keepAliveDone'; session?: SessionId; sentAt: number; acks: number[]; reply: KeepAliveReply | null }
  /** The idle timer: ends the session if it still has no handles and no call since. */
  | { type: 'idleCheck' }
  | { type: 'wake' }
  | { type: 'sendKeepAlive' };
