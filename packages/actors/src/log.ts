export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
/** 'text': readable lines for a person at a terminal; 'json': one JSON object per line, for machines. */
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Where a node's log lines go. `time` is the node's clock (virtual in the simulator). */
export type LogSink = (level: LogLevel, time: number, source: string, msg: string, fields?: Record<string, unknown>) => void;

export function consoleSink(minLevel: LogLevel, format: LogFormat = defaultLogFormat(), write = (line: string): void => void process.stderr.write(line)): LogSink {
  const min = LOG_LEVELS[minLevel];
  return (level, time, source, msg, fields) => {
    if (LOG_LEVELS[level] < min) return;
    write(format === 'json' ? jsonLine(level, time, source, msg, fields) : textLine(level, time, source, msg, fields));
  };
}

/** `time LEVEL [source] msg key=value …`; a value of several lines (a stack) follows on its own lines, indented. */
export function textLine(level: LogLevel, time: number, source: string, msg: string, fields?: Record<string, unknown>): string {
  return `${new Date(time).toISOString()} ${level.toUpperCase()} [${source}] ${msg}${textFields(fields)}\n`;
}

/** Fields as ` key=value …`, then each value of several lines (an Error's stack) indented below. */
export function textFields(fields: Record<string, unknown> | undefined): string {
  let line = '';
  let tail = '';
  for (const [k, v] of Object.entries(fields ?? {})) {
    const text = typeof v === 'string' ? v : v instanceof Error ? (v.stack ?? `${v.name}: ${v.message}`) : stringify(v);
    if (text.includes('\n')) tail += `\n  ${k}:\n${text.replace(/^/gm, '    ')}`;
    else line += ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : text}`;
  }
  return line + tail;
}

/** One JSON object: time (ISO), level, source, msg, then the fields (an Error as name, message and stack). */
export function jsonLine(level: LogLevel, time: number, source: string, msg: string, fields?: Record<string, unknown>): string {
  return `${stringify({ time: new Date(time).toISOString(), level, source, msg, ...fields })}\n`;
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Error) return { name: x.name, message: x.message, stack: x.stack };
    return x;
  }) ?? String(v);
}

export function defaultLogLevel(): LogLevel {
  const v = process.env.ACTORS_LOG;
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' || v === 'silent' ? v : 'warn';
}

/** ACTORS_LOG_FORMAT (text or json) if set; else text on a terminal, JSON when stderr is not one. */
export function defaultLogFormat(): LogFormat {
  const v = process.env.ACTORS_LOG_FORMAT;
  if (v === 'text' || v === 'json') return v;
  return process.stderr.isTTY ? 'text' : 'json';
}

export function makeLogger(sink: LogSink, now: () => number, source: string): Logger {
  return {
    debug: (msg, fields) => sink('debug', now(), source, msg, fields),
    info: (msg, fields) => sink('info', now(), source, msg, fields),
    warn: (msg, fields) => sink('warn', now(), source, msg, fields),
    error: (msg, fields) => sink('error', now(), source, msg, fields),
  };
}
