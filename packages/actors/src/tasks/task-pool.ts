/** How a node runs stateless CPU-heavy tasks (the host's threads, or the simulator's thread). */
export interface TaskPoolSpec {
  /** Path or file URL of the task module; its default export is `(input) => output | Promise<output>`. */
  filename: string;
  minThreads?: number;
  maxThreads?: number;
  /** Tasks waiting for a thread before new ones are refused. Default 1024. */
  maxQueue?: number;
}

export interface TaskPool {
  /** Rejects at once when the queue is full (backpressure, not buffering). */
  run(input: unknown): Promise<unknown>;
  destroy(): void;
}

/** Given to a node by its host: makes the pool behind one Pool actor. */
export type TaskPools = (spec: TaskPoolSpec) => TaskPool;

export const DEFAULT_MAX_QUEUE = 1024;
