import { Transform } from 'node:stream';
import { Presets, SingleBar } from 'cli-progress';

const MIB = 1024 * 1024;
/** Without a terminal, one plain line at most this often. */
const PLAIN_EVERY_MS = 1_000;

export interface Progress {
  /** A pass-through stream that counts the bytes crossing it. */
  counter(): Transform;
  done(): string;
  fail(): void;
}

/**
 * A progress bar with throughput on a terminal (cli-progress, on stderr), plain lines when stderr
 * is not a terminal (logs, CI), nothing with `quiet` (--json).
 */
export function progress(label: string, totalBytes: number, quiet: boolean): Progress {
  const started = Date.now();
  let bytes = 0;
  const mibPerS = (): string => (bytes / MIB / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
  const tty = process.stderr.isTTY === true && !quiet;
  const bar = tty
    ? new SingleBar({ format: `${label} {bar} {percentage}% | {done}/{all} MiB | {speed} MiB/s | {eta_formatted}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic)
    : undefined;
  bar?.start(Math.max(1, totalBytes), 0, { done: '0.0', all: (totalBytes / MIB).toFixed(1), speed: '0.0' });
  let lastLine = 0;
  const report = (): void => {
    if (bar) return void bar.update(bytes, { done: (bytes / MIB).toFixed(1), speed: mibPerS() });
    if (quiet || Date.now() - lastLine < PLAIN_EVERY_MS) return;
    lastLine = Date.now();
    process.stderr.write(`${label}: ${(bytes / MIB).toFixed(1)} of ${(totalBytes / MIB).toFixed(1)} MiB, ${mibPerS()} MiB/s\n`);
  };
  return {
    counter: () =>
      new Transform({
        transform(chunk: Buffer, _enc, callback) {
          bytes += chunk.length;
          report();
          callback(null, chunk);
        },
      }),
    done: () => {
      bar?.update(bytes, { done: (bytes / MIB).toFixed(1), speed: mibPerS() });
      bar?.stop();
      return `${bytes} bytes in ${((Date.now() - started) / 1000).toFixed(2)} s (${mibPerS()} MiB/s)`;
    },
    fail: () => bar?.stop(),
  };
}
