/** Raw baselines, no actors: plain workers (bench/raw-worker.mjs) posting on a MessagePort. */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

const rawWorker = new URL('./raw-worker.mjs', import.meta.url);

function startRaw(role: string, port: MessagePort, workerData: { count: number; gapMs?: number }): Worker {
  return new Worker(rawWorker, { workerData: { role, port, ...workerData }, transferList: [port] });
}

/** Small objects per second, one per postMessage call, from one worker to another. */
export async function rawPostMessage(count: number): Promise<number> {
  const ch = new MessageChannel();
  const sink = startRaw('sink', ch.port2, { count });
  await new Promise((r) => sink.once('online', r));
  const source = startRaw('source', ch.port1, { count });
  const ms = await new Promise<number>((r) => source.once('message', r));
  await Promise.all([sink.terminate(), source.terminate()]);
  return (count / ms) * 1000;
}

/**
 * Round trips between two workers in µs, the first quarter dropped as warm-up. With gapMs, the
 * pinger idles that long before each ping, so both threads (and the VM's vCPUs) fall asleep first:
 * the cost of a hop in a system that waits on the disk between messages.
 */
export async function rawPingPong(count: number, gapMs = 0): Promise<number[]> {
  const ch = new MessageChannel();
  const echo = startRaw('echo', ch.port2, { count });
  await new Promise((r) => echo.once('online', r));
  const pinger = startRaw('pinger', ch.port1, { count, gapMs });
  const rtts = await new Promise<number[]>((r) => pinger.once('message', r));
  await Promise.all([echo.terminate(), pinger.terminate()]);
  return rtts.slice(count / 4);
}
