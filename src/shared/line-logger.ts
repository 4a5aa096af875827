// A JSON-lines logger in pino's line format (level number, time, pid, name, msg, fields; `err`
// as {type, message, stack}) for `baton agent`'s launcher thread, which must stay small: pino
// costs about 7 MiB of RSS there (docs/agents.md, "Self-update"). Other processes use pino
// (process-logger.ts). Lines go to process.stdout (synchronous for files and pipes on POSIX).
import type { Logger } from './logger.js';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

function serialize(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const e = value as Error & { code?: unknown };
  return {
    type: e.name,
    message: e.message,
    stack: e.stack,
    ...(e.code === undefined ? {} : { code: e.code }),
  };
}

/** Level from BATON_LOG_LEVEL (debug, info, warn, error), default `info`. */
export function lineLogger(name: string, fields: Record<string, unknown> = {}): Logger {
  const wanted = process.env['BATON_LOG_LEVEL'] as Level | undefined;
  const min = LEVELS[wanted && wanted in LEVELS ? wanted : 'info'];
  const write = (level: Level) => (o: Record<string, unknown>, msg: string) => {
    if (LEVELS[level] < min) return;
    const own = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, serialize(v)]));
    const line = { level: LEVELS[level], time: Date.now(), pid: process.pid, ...fields, name, ...own, msg };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
