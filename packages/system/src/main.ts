/**
 * `pnpm start`: the whole system in this process. Exit codes: 0 after a clean stop, 2 for a bad
 * config or arguments, 3 for a data folder of another kind or version, 4 for a port in use,
 * 1 for anything else (the message says what).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigFileError, DEFAULT_PORT, loadConfigFile, parseConfig, withOverrides, type SystemConfig } from './config.ts';
import { DataDirError } from './data-dir.ts';
import { PortInUseError, startSystem, type RunningSystem } from './system.ts';

const program = new Command('actorfs start')
  .description('Start the whole actorfs system in this process: a 5-replica lock-service cell, a GFS master with a synchronous backup and a shadow (elected through the cell) and 3 chunkservers on worker threads, an HTTP API and a status page on 127.0.0.1.')
  .option('-c, --config <file>', 'JSON config file (nodes, racks, sizes, timings); the defaults need none')
  .option('-d, --data <dir>', 'data folder, kept across restarts (default ./data, or dataDir in the config)')
  .option('-p, --port <port>', `HTTP port of the API and status page on 127.0.0.1 (default ${DEFAULT_PORT}, 0 picks a free one)`, parsePort)
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

function fail(code: number, message: string): never {
  process.stderr.write(`actorfs: ${message}\n`);
  process.exit(code);
}

let opts: { config?: string; data?: string; port?: number };
try {
  opts = program.parse(process.argv).opts();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}

let config: SystemConfig;
try {
  config = withOverrides(opts.config === undefined ? parseConfig({}) : loadConfigFile(opts.config), { dataDir: opts.data, port: opts.port });
} catch (err) {
  if (err instanceof ConfigFileError) fail(2, `bad config ${err.message}`);
  throw err;
}

let running: RunningSystem;
try {
  running = await startSystem(config, (line) => process.stdout.write(`${line}\n`));
} catch (err) {
  if (err instanceof DataDirError) fail(3, err.message);
  if (err instanceof PortInUseError) fail(4, err.message);
  fail(1, `could not start: ${err instanceof Error ? err.message : String(err)}`);
}

const url = running.url;
process.stdout.write(
  [
    '',
    `actorfs is running (data in ${config.dataDir})`,
    `  status page:  ${url}/`,
    `  CLI:          pnpm cli --help${config.http.port === DEFAULT_PORT ? '' : `   (with --url ${url}, or ACTORFS_URL=${url})`}`,
    `  try:          pnpm cli put ./some-file /hello && pnpm cli ls / && pnpm cli lock acquire demo --client alice`,
    '  stop:         Ctrl-C (every node stops and its storage is synced and closed)',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    process.stderr.write(`actorfs: ${signal} again, leaving without waiting\n`);
    process.exit(1);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: stopping every node…\n`);
  running.stop().then(
    (report) => {
      process.stdout.write(`stopped (${report}); data kept in ${config.dataDir}\n`);
      process.exit(0);
    },
    (err: unknown) => fail(1, `stopping failed: ${err instanceof Error ? err.message : String(err)}`),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
