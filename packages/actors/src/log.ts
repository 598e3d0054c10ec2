export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Where a node's log lines go. `time` is the node's clock (virtual in the simulator). */
export type LogSink = (level: LogLevel, time: number, source: string, msg: string, fields?: Record<string, unknown>) => void;

export function consoleSink(minLevel: LogLevel): LogSink {
  const min = LOG_LEVELS[minLevel];
  return (level, time, source, msg, fields) => {
    if (LOG_LEVELS[level] < min) return;
    const extra = fields ? ` ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}` : '';
    process.stderr.write(`${new Date(time).toISOString()} ${level.toUpperCase()} [${source}] ${msg}${extra}\n`);
  };
}

export function defaultLogLevel(): LogLevel {
  const v = process.env.ACTORS_LOG;
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' || v === 'silent' ? v : 'warn';
}

export function makeLogger(sink: LogSink, now: () => number, source: string): Logger {
  return {
    debug: (msg, fields) => sink('debug', now(), source, msg, fields),
    info: (msg, fields) => sink('info', now(), source, msg, fields),
    warn: (msg, fields) => sink('warn', now(), source, msg, fields),
    error: (msg, fields) => sink('error', now(), source, msg, fields),
  };
}
