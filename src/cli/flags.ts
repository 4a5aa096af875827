// Parsing of numeric and duration flags: one clear usage error (exit 2) naming the flag, the value
// and what is allowed, shared by every command.
import { parseDuration } from '../wire/index.js';
import { CliError, EXIT } from './exit-codes.js';

/** A positive integer flag. */
export function parseCount(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliError(`${flag}: '${raw}' is not a positive integer`, EXIT.usage);
  return n;
}

/** A duration flag in milliseconds. */
export function parseDurationFlag(flag: string, raw: string): number {
  try {
    return parseDuration(raw);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`, EXIT.usage, { cause: err });
  }
}
