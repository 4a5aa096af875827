import { isMainThread } from 'node:worker_threads';
import { pino } from 'pino';
import type { Logger } from './logger.js';

/**
 * The logger of a long-running baton process: JSON lines on stdout (`baton up` sends them to
 * `.baton/logs/<name>.log`). Level from BATON_LOG_LEVEL, default `info`. In a worker thread (the
 * agent under `baton agent`) lines are written synchronously: pino flushes its buffer when the
 * process exits, not when a thread ends or crashes, and the last lines say why it did.
 */
export function processLogger(name: string, fields: Record<string, unknown> = {}): Logger {
  const opts = {
    name,
    level: process.env['BATON_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid, ...fields },
  };
  const p = isMainThread ? pino(opts) : pino(opts, pino.destination({ dest: 1, sync: true }));
  return {
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
  };
}
