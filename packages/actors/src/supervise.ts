import { isPromise, type ActorCell } from './cell.ts';
import type { ActorNode } from './node.ts';
import { RestartWindow } from './supervision.ts';

/**
 * Applies a failed cell's supervisor strategy (its asker was told already). A restart whose
 * setup throws again loops here (never recursing) until the strategy stops it.
 */
export function superviseFailure(node: ActorNode, cell: ActorCell, err: unknown): void {
  let error = err;
  while (cell.alive) {
    const decision = (cell.restarts ??= new RestartWindow()).decide(cell.strategy, node.env.now());
    cell.logger().error(`failed (${decision})`, { error: error instanceof Error ? error : String(error) });
    switch (decision) {
      case 'resume':
        node.wake(cell);
        return;
      case 'restart': {
        for (const child of [...(cell.children?.values() ?? [])]) node.stopCell(child);
        cell.cancelTimers();
        cell.resetBehavior();
        const outcome = cell.start();
        if (isPromise(outcome)) void outcome.then((o) => o && cell.alive && node.failed(cell, o.error, 0));
        else if (outcome) {
          error = outcome.error;
          continue;
        }
        return;
      }
      case 'stop':
        node.stopCell(cell);
        return;
      case 'escalate': {
        const parent = cell.parent;
        node.stopCell(cell);
        if (parent) node.failed(parent, error, 0);
        return;
      }
      default: {
        const never: never = decision;
        throw new Error(`unknown decision ${String(never)}`);
      }
    }
  }
}
