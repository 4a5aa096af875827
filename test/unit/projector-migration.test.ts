// Schema 3 rebuilds `runs` (a generated column cannot be altered): a database written by schema 2
// keeps its rows, and their states follow the new rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/projector/index.js';

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

    assert.equal(migrate(db), 3);
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
