// Schema 3 rebuilds `runs` (a generated column cannot be altered): a database written by schema 2
// keeps its rows, and their states follow the new rule. Schema 4 indexes results by execution and
// pc: an endpoint's timeline and an execution's output groups are still index lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../src/projector/index.js';

test('a schema 2 database migrates to 3 with its runs, states and counters intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrate-'));
  const db = new Database(join(dir, 'baton.db'));
  try {
    assert.equal(
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 2),
      ),
      2,
    );
    const run = db.prepare(
      'INSERT INTO runs (exec_id, pc_id, expected, status, reason, skipped_at, skip_reason, expired) VALUES (?, ?, 1, ?, ?, ?, ?, ?)',
    );
    run.run('E', 'pc-ok', 'ok', null, null, null, 0);
    run.run('E', 'pc-late', 'skipped', 'deadline_passed', null, null, 0);
    run.run('E', 'pc-revoked', 'skipped', 'revoked', null, null, 0);
    run.run('E', 'pc-gone', null, null, null, null, 1);
    db.prepare(
      "INSERT INTO executions (exec_id, job_id, job_version, total) VALUES ('E', 'j', '1', 4)",
    ).run();
    const before = db.prepare('SELECT pc_id, state FROM runs ORDER BY pc_id').all();
    assert.deepEqual(before, [
      { pc_id: 'pc-gone', state: 'expired' },
      { pc_id: 'pc-late', state: 'skipped' },
      { pc_id: 'pc-ok', state: 'ok' },
      { pc_id: 'pc-revoked', state: 'skipped' },
    ]);

    assert.equal(
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 3),
      ),
      3,
    );
    assert.deepEqual(db.prepare('SELECT pc_id, state, attempt, retry_at FROM runs ORDER BY pc_id').all(), [
      { pc_id: 'pc-gone', state: 'expired', attempt: 1, retry_at: null },
      { pc_id: 'pc-late', state: 'expired', attempt: 1, retry_at: null },
      { pc_id: 'pc-ok', state: 'ok', attempt: 1, retry_at: null },
      { pc_id: 'pc-revoked', state: 'skipped', attempt: 1, retry_at: null },
    ]);
    assert.deepEqual(db.prepare("SELECT total, retrying FROM executions WHERE exec_id = 'E'").get(), {
      total: 4,
      retrying: 0,
    });
    assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'runs_pc'").get());
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema 4: results keep their rows; the timeline and output groups use indexes, not scans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrate-'));
  const db = new Database(join(dir, 'baton.db'));
  try {
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    db.prepare(
      `INSERT INTO results (result_id, stream_seq, request_id, exec_id, pc_id, job_id, job_version, status,
        finished_at, duration_ms, stdout_bytes, stdout_sha256, stderr_bytes, stderr_sha256)
       VALUES ('R.pc-a', 1, 'R', 'E', 'pc-a', 'j', '1', 'ok', '2025-01-01T00:00:00.000Z', 5, 0, 'x', 0, 'x')`,
    ).run();
    assert.equal(migrate(db), SCHEMA_VERSION);
    assert.ok(SCHEMA_VERSION >= 4);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n, 1);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'results'").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    assert.ok(indexes.includes('results_exec_pc'));
    assert.ok(!indexes.includes('results_pc') && !indexes.includes('results_exec_output'));

    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
    const timeline = plan(`
      SELECT r.finished_at FROM runs AS u JOIN results AS r ON r.exec_id = u.exec_id AND r.pc_id = u.pc_id
      WHERE u.pc_id = 'pc-a' AND r.finished_at >= ''`);
    assert.match(timeline, /SEARCH u USING (COVERING )?INDEX runs_pc/);
    assert.match(timeline, /SEARCH r USING INDEX results_exec_pc/);
    const groups = plan(`SELECT * FROM results WHERE exec_id = 'E' AND retry_at IS NULL ORDER BY pc_id`);
    assert.match(groups, /SEARCH results USING INDEX results_exec_pc/);
    assert.doesNotMatch(groups, /TEMP B-TREE/);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
