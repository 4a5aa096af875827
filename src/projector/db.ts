// Opening the projection database: WAL (readers never block the writer), a busy timeout so a
// reader (the CLI) and the writer wait for each other briefly instead of failing, and the schema
// migrated to the current version. Read-only connections skip the migration.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './schema.js';

export type Db = Database.Database;

/** Milliseconds a connection waits for a lock held by another. */
export const BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating when missing) the projection database for writing, migrated to the latest schema. */
export function openProjectionDb(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: each commit is fsynced before it returns. Messages are acked right after the commit,
  // so with NORMAL a power cut could lose commits whose messages JetStream already forgot.
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = OFF');
  migrate(db);
  return db;
}

/** Opens an existing projection database read-only (the CLI's queries). */
export function openReadOnlyDb(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}
