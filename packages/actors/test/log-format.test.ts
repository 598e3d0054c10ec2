import { describe, expect, it } from '@jest/globals';
import { consoleSink } from '../src/log.ts';
import { runScenario } from './helpers.ts';

function failure(): Error {
  return new Error('kaput');
}

describe('log lines', () => {
  it('as text: one readable line, and an error\'s stack below it as it prints, line for line', () => {
    const lines: string[] = [];
    const err = failure();
    consoleSink('debug', 'text', (l) => lines.push(l))('error', Date.UTC(2026, 0, 2, 3, 4, 5), '~1@w1', 'failed (restart)', { error: err, attempt: 2, note: 'two words' });
    const text = lines.join('');
    const [first, ...rest] = text.trimEnd().split('\n');
    expect(first).toBe('2026-01-02T03:04:05.000Z ERROR [~1@w1] failed (restart) attempt=2 note="two words"');
    expect(rest[0]).toBe('  error:');
    expect(rest.slice(1).map((l) => l.slice(4))).toEqual(err.stack!.split('\n'));
  });

  it('as JSON: one object per line, with the error\'s name, message and stack intact', () => {
    const lines: string[] = [];
    const err = failure();
    consoleSink('debug', 'json', (l) => lines.push(l))('warn', Date.UTC(2026, 0, 2), 'main', 'slow', { error: err, n: 10n });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-01-02T00:00:00.000Z',
      level: 'warn',
      source: 'main',
      msg: 'slow',
      error: { name: 'Error', message: 'kaput', stack: err.stack },
      n: '10',
    });
  });

  it('a level below the minimum is not written', () => {
    const lines: string[] = [];
    consoleSink('warn', 'text', (l) => lines.push(l))('info', 0, 'main', 'quiet');
    expect(lines).toEqual([]);
  });

  it('a supervision failure on a worker is logged as JSON lines when stderr is not a terminal, with its stack', async () => {
    const run = await runScenario('log-failure', { env: { ACTORS_LOG: 'error' } });
    expect(run.code).toBe(0);
    const lines = run.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.find((l) => l.msg === 'failed (restart)');
    expect(failed).toMatchObject({ level: 'error', source: 'failing@w1', error: { name: 'Error', message: 'kaput for the log' } });
    expect((failed!.error as { stack: string }).stack).toMatch(/^Error: kaput for the log\n {4}at /);
  });

  it('and as readable text when asked (ACTORS_LOG_FORMAT=text), the stack on lines of its own', async () => {
    const run = await runScenario('log-failure', { env: { ACTORS_LOG: 'error', ACTORS_LOG_FORMAT: 'text' } });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^\S+Z ERROR \[failing@w1\] failed \(restart\)\n  error:\n {4}Error: kaput for the log\n {8}at /m);
  });
});
