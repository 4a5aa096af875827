import { pino } from 'pino';
import type { Logger } from './logger.js';

/**
 * The logger of a long-running baton process: JSON lines on stdout (`baton up` sends them to
 * `.baton/logs/<name>.log`). Level from BATON_LOG_LEVEL, default `info`.
 */
export function processLogger(name: string, fields: Record<string, unknown> = {}): Logger {
  const p = pino({ name, level: process.env['BATON_LOG_LEVEL'] ?? 'info', base: { pid: process.pid, ...fields } });
  return {
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
  };
}
