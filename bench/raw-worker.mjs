// Raw baselines, no actors: a plain worker that posts, counts, or echoes on a MessagePort.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

const { role, port, count, gapMs = 0 } = workerData;
if (role === 'sink') {
  let n = 0;
  port.on('message', () => {
    if (++n === count) port.postMessage('done');
  });
} else if (role === 'source') {
  // One small object per postMessage call; wait for the sink's 'done'.
  port.once('message', () => parentPort.postMessage(performance.now() - t0));
  const t0 = performance.now();
  for (let i = 0; i < count; i++) port.postMessage({ type: 'm', i });
} else if (role === 'echo') {
  port.on('message', (m) => port.postMessage(m));
} else if (role === 'pinger') {
  const rtts = [];
  let t0 = 0;
  port.on('message', () => {
    rtts.push((performance.now() - t0) * 1000);
    if (rtts.length === count) parentPort.postMessage(rtts);
    else if (gapMs > 0) setTimeout(ping, gapMs);
    else ping();
  });
  const ping = () => {
    t0 = performance.now();
    port.postMessage({ type: 'ping' });
  };
  ping();
}
