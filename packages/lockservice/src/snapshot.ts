/**
 * The database as snapshot pieces, and back. Pieces hold only records (nodes, sessions, handles);
 * restore rebuilds the indexes from them and checks every invariant before it replaces anything.
 * A piece holds about PIECE_BYTES of records, or one node whose contents are larger (a file is
 * at most 256 KiB, so every piece stays well under 1 MiB encoded).
 */
import type { LsConfig } from './config.ts';
import { checkInvariants } from './invariants.ts';
import { parentOf, nameOf } from './paths.ts';
import { NO_TERM, type MasterTerm } from './protocol.ts';
import {
  emptyState,
  indexNode,
  indexSession,
  nodeRecord,
  sessionRecord,
  type Counters,
  type DbState,
  type HandleRecord,
  type LockGrant,
  type LsNode,
  type NodeRecord,
  type SessionRecord,
} from './state.ts';

export const PIECE_BYTES = 64 * 1024;
const SNAPSHOT_VERSION = 1;

export type SnapshotPiece =
  /** `masterTerm`: absent in snapshots taken before terms were recorded (restored as NO_TERM). */
  | { piece: 'meta'; version: number; cell: string; counters: Counters; now: number; masterTerm?: MasterTerm; nodes: number; sessions: number; handles: number }
  | { piece: 'nodes'; nodes: NodeRecord[] }
  | { piece: 'sessions'; sessions: SessionRecord[] }
  | { piece: 'handles'; handles: StoredHandle[] };

/** A handle as snapshots hold it; those taken before the window of write outcomes kept only the last one (`writeAttempt`). */
type StoredHandle = Omit<HandleRecord, 'writes' | 'writesForgotten' | 'lastGrant'> & Partial<Pick<HandleRecord, 'writes' | 'writesForgotten' | 'lastGrant'>> & { writeAttempt?: number; writeGeneration?: number; lockAttempt?: number };

/**
 * The pieces, built at once: they describe the state at this moment even if the caller encodes
 * them while more ops apply (contents arrays are replaced on write, never changed in place).
 */
export function snapshotPieces(state: DbState): SnapshotPiece[] {
  const pieces: SnapshotPiece[] = [
    {
      piece: 'meta',
      version: SNAPSHOT_VERSION,
      cell: state.config.cell,
      counters: { ...state.counters },
      now: state.now,
      masterTerm: { ...state.masterTerm },
      nodes: state.nodes.size,
      sessions: state.sessions.size,
      handles: state.handles.size,
    },
  ];
  // Nodes go in map order, which puts every directory before its children (created first, and
  // deleted only once empty), so restore can link each node to its parent as it comes.
  chunk(state.nodes.values(), nodeRecord, (n) => 200 + 3 * n.path.length + n.contents.byteLength, (nodes) => pieces.push({ piece: 'nodes', nodes }));
  chunk(state.sessions.values(), sessionRecord, (s) => 64 + 3 * s.principal.length + s.secret.length, (sessions) => pieces.push({ piece: 'sessions', sessions }));
  chunk(state.handles.values(), (h) => ({ ...h, events: [...h.events], writes: h.writes.map((w) => ({ ...w })) }), (h) => 128 + 3 * h.path.length + 32 * h.writes.length, (handles) => pieces.push({ piece: 'handles', handles }));
  return pieces;
}

function chunk<T, R>(items: Iterable<T>, record: (item: T) => R, bytes: (r: R) => number, emit: (batch: R[]) => void): void {
  let batch: R[] = [];
  let size = 0;
  for (const item of items) {
    const r = record(item);
    const b = bytes(r);
    if (batch.length > 0 && size + b > PIECE_BYTES) {
      emit(batch);
      [batch, size] = [[], 0];
    }
    batch.push(r);
    size += b;
  }
  if (batch.length > 0) emit(batch);
}

/** A new state from pieces; throws, naming what is wrong, on pieces that do not make a valid database. */
export function restoreState(config: LsConfig, pieces: Iterable<unknown>): DbState {
  const state = emptyState(config);
  state.nodes.clear();
  let meta: Extract<SnapshotPiece, { piece: 'meta' }> | undefined;
  for (const raw of pieces) {
    const piece = raw as SnapshotPiece;
    const kind = (piece as { piece?: unknown } | null)?.piece;
    if (meta === undefined && kind !== 'meta') throw new Error(`lock service snapshot: the first piece must be meta, got ${JSON.stringify(kind)}`);
    switch (piece.piece) {
      case 'meta':
        if (meta !== undefined) throw new Error('lock service snapshot: a second meta piece');
        if (piece.version !== SNAPSHOT_VERSION) throw new Error(`lock service snapshot: version ${piece.version}, expected ${SNAPSHOT_VERSION}`);
        if (piece.cell !== config.cell) throw new Error(`lock service snapshot: of cell ${JSON.stringify(piece.cell)}, not ${config.cell}`);
        meta = piece;
        state.counters = { ...piece.counters };
        state.now = piece.now;
        state.masterTerm = piece.masterTerm === undefined ? { ...NO_TERM } : { round: piece.masterTerm.round, id: piece.masterTerm.id };
        break;
      case 'nodes':
        for (const r of piece.nodes) {
          if (state.nodes.has(r.path)) throw new Error(`lock service snapshot: node ${r.path} twice`);
          const node = indexNode({ ...r, contents: Uint8Array.from(r.contents), acl: { ...r.acl } });
          if (r.path !== state.root) {
            const parent = state.nodes.get(parentOf(r.path));
            if (!parent) throw new Error(`lock service snapshot: node ${r.path} comes before its directory`);
            parent.children.add(nameOf(r.path));
          }
          state.nodes.set(r.path, node);
          state.totalContentsBytes += node.contents.byteLength;
        }
        break;
      case 'sessions':
        for (const r of piece.sessions) state.sessions.set(r.id, indexSession({ ...r, secret: r.secret ?? '' }));
        break;
      case 'handles':
        for (const r of piece.handles) {
          const { writeAttempt, writeGeneration, lockAttempt, ...rest } = r;
          const session = state.sessions.get(r.session);
          const node = state.nodes.get(r.path);
          if (!session || !node) throw new Error(`lock service snapshot: handle ${r.id} names a missing session or node`);
          const handle: HandleRecord = { ...rest, events: [...r.events], lastGrant: lastGrantOf(r, node), decidedAttempt: r.decidedAttempt ?? 0, ...writeWindowOf(r) };
          state.handles.set(r.id, handle);
          session.handles.add(r.id);
          node.handles.add(r.id);
          if (handle.lock !== null) node.holders.add(r.id);
        }
        break;
      default:
        throw new Error(`lock service snapshot: unknown piece ${JSON.stringify(kind)}`);
    }
  }
  if (meta === undefined) throw new Error('lock service snapshot: no pieces');
  for (const node of state.nodes.values()) {
    if (node.ephemeralOwner === null) continue;
    const owner = state.sessions.get(node.ephemeralOwner);
    if (!owner) throw new Error(`lock service snapshot: ephemeral ${node.path} of session ${node.ephemeralOwner}, which is not open`);
    owner.ephemerals.add(node.path);
  }
  const counts = { nodes: state.nodes.size, sessions: state.sessions.size, handles: state.handles.size };
  if (counts.nodes !== meta.nodes || counts.sessions !== meta.sessions || counts.handles !== meta.handles) {
    throw new Error(`lock service snapshot: incomplete: ${JSON.stringify(counts)} restored, meta says ${JSON.stringify({ nodes: meta.nodes, sessions: meta.sessions, handles: meta.handles })}`);
  }
  const violations = checkInvariants(state);
  if (violations.length > 0) throw new Error(`lock service snapshot: restored state breaks invariants: ${violations.slice(0, 5).join('; ')}`);
  return state;
}

/** A stored handle's newest grant; an older snapshot kept only the attempt of the lock it holds (0: none). */
function lastGrantOf(r: StoredHandle, node: LsNode): LockGrant | null {
  if (r.lastGrant !== undefined) return r.lastGrant === null ? null : { ...r.lastGrant };
  const attempt = r.lockAttempt ?? 0;
  return attempt === 0 || r.lock === null ? null : { attempt, mode: r.lock, generation: node.lockGeneration };
}

/** The write outcomes a stored handle keeps; an older snapshot's single last attempt leaves every earlier one forgotten. */
function writeWindowOf(r: StoredHandle): Pick<HandleRecord, 'writes' | 'writesForgotten'> {
  if (r.writes !== undefined) return { writes: r.writes.map((w) => ({ ...w })), writesForgotten: r.writesForgotten ?? 0 };
  const last = r.writeAttempt ?? 0;
  return last === 0 ? { writes: [], writesForgotten: 0 } : { writes: [{ attempt: last, generation: r.writeGeneration ?? 0 }], writesForgotten: last - 1 };
}
