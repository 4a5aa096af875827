// One writer per database file: the projector holds `<db>.lock` (its pid) while it runs, and a
// rebuild refuses to delete a database another live process holds. A lock left by a process that
// died (SIGKILL, power cut) is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export class DbLockedError extends Error {
  override name = 'DbLockedError';
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path} is in use by a projector (pid ${pid}); stop it first`);
  }
}

export const lockFileOf = (dbPath: string): string => `${dbPath}.lock`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding the database, or null when no live process holds it. */
export function lockHolder(dbPath: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(lockFileOf(dbPath), 'utf8').trim());
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}

/** Takes the lock for this process; throws DbLockedError when another live process has it. */
export function acquireDbLock(dbPath: string): () => void {
  const holder = lockHolder(dbPath);
  if (holder !== null) throw new DbLockedError(dbPath, holder);
  writeFileSync(lockFileOf(dbPath), `${process.pid}\n`);
  return () => {
    if (lockHolder(dbPath) === null) rmSync(lockFileOf(dbPath), { force: true });
  };
}
