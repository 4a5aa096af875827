// SQL of the retention sweep: each step deletes at most `limit` rows older than a cutoff and
// returns how many it deleted, so the caller can run bounded transactions until a step is done.
import type { Db } from './db.js';

export type RetentionStep = { table: string; run(cutoffIso: string, limit: number): number };

const byTime = (db: Db, table: string, column: string): RetentionStep => {
  const stmt = db.prepare(
    `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ? LIMIT ?)`,
  );
  return { table, run: (cutoff, limit) => stmt.run(cutoff, limit).changes };
};

/** The steps in order: an execution's runs and results go before the execution row itself. */
export function retentionSteps(db: Db): RetentionStep[] {
  const runs = db.prepare(`
    DELETE FROM runs WHERE rowid IN (
      SELECT runs.rowid FROM runs JOIN executions USING (exec_id)
      WHERE executions.started_at < ? LIMIT ?)`);
  const executions = db.prepare(`
    DELETE FROM executions WHERE rowid IN (
      SELECT rowid FROM executions e
      WHERE e.started_at < ? AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.exec_id = e.exec_id) LIMIT ?)`);
  return [
    byTime(db, 'results', 'finished_at'),
    { table: 'runs', run: (cutoff, limit) => runs.run(cutoff, limit).changes },
    { table: 'executions', run: (cutoff, limit) => executions.run(cutoff, limit).changes },
    byTime(db, 'run_events', 'at'),
    byTime(db, 'obs_events', 'at'),
    byTime(db, 'inventory', 'at'),
    byTime(db, 'audit', 'at'),
    byTime(db, 'projection_errors', 'at'),
  ];
}
