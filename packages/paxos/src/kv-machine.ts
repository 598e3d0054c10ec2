import { defineStateMachine, type StateMachine } from './state-machine.ts';

export type KvOp =
  | { op: 'put'; key: string; value: unknown }
  | { op: 'get'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: unknown; value: unknown };

export type KvQuery = { op: 'get'; key: string } | { op: 'size' };

/**
 * A replicated key-value register: the state machine the tests, the benchmark and the examples use.
 * put returns the previous value; cas returns whether it swapped (values compared as JSON).
 */
export class KvMachine implements StateMachine {
  private data = new Map<string, unknown>();

  apply(raw: unknown): unknown {
    const op = raw as KvOp;
    switch (op.op) {
      case 'put': {
        const prev = this.data.get(op.key);
        this.data.set(op.key, op.value);
        return prev ?? null;
      }
      case 'get':
        return this.data.get(op.key) ?? null;
      case 'delete':
        return this.data.delete(op.key);
      case 'cas': {
        const cur = this.data.get(op.key) ?? null;
        if (JSON.stringify(cur) !== JSON.stringify(op.expected)) return false;
        this.data.set(op.key, op.value);
        return true;
      }
      default:
        throw new Error(`unknown kv op ${JSON.stringify(raw)}`);
    }
  }

  query(raw: unknown): unknown {
    const q = raw as KvQuery;
    if (q.op === 'size') return this.data.size;
    if (q.op === 'get') return this.data.get(q.key) ?? null;
    throw new Error(`unknown kv query ${JSON.stringify(raw)}`);
  }

  snapshot(): unknown {
    return [...this.data];
  }

  restore(snapshot: unknown): void {
    this.data = new Map(snapshot as Array<[string, unknown]>);
  }
}

export const KV_MACHINE = defineStateMachine('paxos.kv', () => new KvMachine());
