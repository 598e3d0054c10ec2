import { piecesWithin } from './size.ts';
import { defineStateMachine, type ApplyOutcome, type StateMachine } from './state-machine.ts';

export type KvOp =
  | { op: 'put'; key: string; value: unknown }
  | { op: 'get'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: unknown; value: unknown };

export type KvQuery = { op: 'get'; key: string } | { op: 'size' };

/** A snapshot piece holds entries adding up to about this many bytes (one entry always fits). */
const PIECE_BYTES = 256 * 1024;

/**
 * A replicated key-value register: the state machine the tests, the benchmark and the examples use.
 * put returns the previous value; cas returns whether it swapped (values compared as JSON); an
 * op it does not know is a domain error (`bad-op`).
 */
export class KvMachine implements StateMachine<KvOp, unknown, KvQuery, unknown> {
  private data = new Map<string, unknown>();

  validate(raw: unknown): string | undefined {
    const op = raw as Partial<Record<string, unknown>> | null;
    if (typeof op !== 'object' || op === null || typeof op.key !== 'string') return 'a kv op is { op, key, ... } with a string key';
    return ['put', 'get', 'delete', 'cas'].includes(op.op as string) ? undefined : `unknown kv op ${String(op.op)}`;
  }

  apply(op: KvOp): ApplyOutcome<unknown, never> {
    switch (op.op) {
      case 'put': {
        const prev = this.data.get(op.key);
        this.data.set(op.key, op.value);
        return { ok: true, result: prev ?? null };
      }
      case 'get':
        return { ok: true, result: this.data.get(op.key) ?? null };
      case 'delete':
        return { ok: true, result: this.data.delete(op.key) };
      case 'cas': {
        const cur = this.data.get(op.key) ?? null;
        if (JSON.stringify(cur) !== JSON.stringify(op.expected)) return { ok: true, result: false };
        this.data.set(op.key, op.value);
        return { ok: true, result: true };
      }
      default:
        return { ok: false, error: { code: 'bad-op', message: `unknown kv op ${JSON.stringify(op satisfies never)}` } };
    }
  }

  query(q: KvQuery): unknown {
    switch (q.op) {
      case 'size':
        return this.data.size;
      case 'get':
        return this.data.get(q.key) ?? null;
      default:
        throw new Error(`unknown kv query ${JSON.stringify(q satisfies never)}`);
    }
  }

  snapshot(): Iterable<Array<[string, unknown]>> {
    return piecesWithin(this.data, PIECE_BYTES);
  }

  restore(pieces: Iterable<unknown>): void {
    this.data = new Map();
    for (const piece of pieces) for (const [k, v] of piece as Array<[string, unknown]>) this.data.set(k, v);
  }
}

export const KV_MACHINE = defineStateMachine('paxos.kv', () => new KvMachine());
