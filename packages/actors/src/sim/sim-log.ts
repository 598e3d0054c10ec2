import { LOG_LEVELS, textFields, type LogSink } from '../log.ts';

/** The simulator's default log sink: actors' lines go to stderr from the level SIM_LOG names, else nowhere. */
export function simLogSink(): LogSink {
  const level = process.env.SIM_LOG;
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') return () => {};
  const min = LOG_LEVELS[level];
  return (lvl, time, source, msg, fields) => {
    if (LOG_LEVELS[lvl] >= min) process.stderr.write(`[t=${time.toFixed(1)}] ${lvl} ${source}: ${msg}${textFields(fields)}\n`);
  };
}
