// Where the CLI finds the projection database: `--db`, else `<dataDir>/baton.db` of the context
// file `baton up` wrote, else `.baton/baton.db` in the current folder. Readers open it read-only.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReadModel } from '../projector/index.js';
import { parseDuration } from '../wire/index.js';
import { DEFAULT_DATA_DIR, findContextFile, readContextFile } from './context.js';
import { CliError, EXIT } from './exit-codes.js';

export const PROJECTION_DB_FILE = 'baton.db';

/** The data dir of the local platform: the context file's, else `.baton` here. */
export function contextDataDir(cwd = process.cwd()): string {
  const file = findContextFile(cwd);
  return file ? readContextFile(file).dataDir : resolve(cwd, DEFAULT_DATA_DIR);
}

export function projectionDbPath(flag: string | undefined): string {
  return resolve(flag ?? join(contextDataDir(), PROJECTION_DB_FILE));
}

/** Opens the projection read-only, with a clear error when there is none. */
export function openReadModel(flag: string | undefined): ReadModel {
  const path = projectionDbPath(flag);
  if (!existsSync(path)) {
    throw new CliError(
      `no projection database at ${path}: run \`baton up\` or \`baton projector\`, or pass --db <path>`,
      EXIT.unavailable,
    );
  }
  return ReadModel.open(path);
}

/** Runs `fn` with a read model that is closed afterwards. */
export async function withReadModel<T>(
  flag: string | undefined,
  fn: (rm: ReadModel) => Promise<T> | T,
): Promise<T> {
  const rm = openReadModel(flag);
  try {
    return await fn(rm);
  } finally {
    rm.close();
  }
}

/** `--since`: a duration back from now (`1h`, `30m`, `2d`) or an RFC 3339 time. Returns ISO text. */
export function parseSince(raw: string | undefined, nowMs = Date.now()): string | undefined {
  if (raw === undefined) return undefined;
  if (/^\d{4}-\d\d-\d\d/.test(raw)) {
    const t = Date.parse(raw);
    if (Number.isNaN(t)) throw new CliError(`--since: '${raw}' is not an RFC 3339 time`, EXIT.usage);
    return new Date(t).toISOString();
  }
  try {
    return new Date(nowMs - parseDuration(raw)).toISOString();
  } catch {
    throw new CliError(
      `--since: '${raw}' is neither a duration ('1h', '30m', '2d') nor an RFC 3339 time`,
      EXIT.usage,
    );
  }
}
