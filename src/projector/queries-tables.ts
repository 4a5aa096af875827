// SQL over whole tables: row counts (rebuild reports them) and a canonical dump (tests compare a
// rebuilt database with the live one).
import type { Db } from './db.js';
import { PROJECTION_TABLES, type ProjectionTable } from './schema.js';

const ORDER: Record<ProjectionTable, string> = {
  executions: 'exec_id',
  runs: 'exec_id, pc_id',
  results: 'result_id',
  run_events: 'id',
  obs_events: 'id',
  inventory: 'id',
  audit: 'id',
  agents: 'pc_id',
  projection_errors: 'stream, seq',
};

export function tableCounts(db: Db): Record<ProjectionTable, number> {
  const out = {} as Record<ProjectionTable, number>;
  for (const t of PROJECTION_TABLES) {
    out[t] = (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  }
  return out;
}

/** Every row of a projection table in primary-key order. */
export function dumpTable(db: Db, table: ProjectionTable): unknown[] {
  return db.prepare(`SELECT * FROM ${table} ORDER BY ${ORDER[table]}`).all();
}
