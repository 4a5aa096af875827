// The projection's schema as an ordered list of migrations. `schema_version` records each applied
// version; opening a database applies the missing ones in order, each in its own transaction.
// Append new migrations; never edit one that has shipped.
//
// Every table is a function of the streams (and the agents_state KV), never of the order in which
// messages arrived: rows are keyed by message ids, and values that several messages contribute to
// are combined order-independently (MIN of times, the greatest result id wins), so a rebuild
// reproduces the same rows. See docs/projector.md.
import type { Db } from './db.js';

export type Migration = { version: number; name: string; sql: string };

const RUN_STATE = `CASE
    WHEN status IS NOT NULL THEN status
    WHEN skipped_at IS NOT NULL THEN 'skipped'
    WHEN started_at IS NOT NULL THEN 'running'
    WHEN accepted_at IS NOT NULL THEN 'delivered'
    WHEN expired = 1 THEN 'expired'
    ELSE 'queued' END`;

// Since schema 3 (retries): a run whose latest result will be retried is `retrying`; a request
// whose deadline passed before the agent picked it up is `expired`, whether the sweep found no sign
// of it or the agent came back late and answered `skipped/deadline_passed` (docs/operations.md,
// "Run semantics").
const RUN_STATE_3 = `CASE
    WHEN status IS NOT NULL AND retry_at IS NOT NULL THEN (CASE WHEN expired = 1 THEN 'expired' ELSE 'retrying' END)
    WHEN status = 'skipped' AND reason = 'deadline_passed' THEN 'expired'
    WHEN status IS NOT NULL THEN status
    WHEN skipped_at IS NOT NULL THEN (CASE WHEN skip_reason = 'deadline_passed' THEN 'expired' ELSE 'skipped' END)
    WHEN started_at IS NOT NULL THEN 'running'
    WHEN accepted_at IS NOT NULL THEN 'delivered'
    WHEN expired = 1 THEN 'expired'
    ELSE 'queued' END`;

const RUN_COLUMNS = `exec_id, pc_id, expected, request_id, accepted_at, started_at, skipped_at, skip_reason,
  result_id, status, exit_code, reason, finished_at, duration_ms, expired`;

const OUTPUT_COLUMNS = (s: 'stdout' | 'stderr') => `
  ${s}_bytes INTEGER NOT NULL,
  ${s}_sha256 TEXT NOT NULL,
  ${s}_encoding TEXT,          -- 'utf8' | 'base64' when inline, else NULL
  ${s}_inline TEXT,            -- the inline data; NULL when empty or in the object store
  ${s}_bucket TEXT,            -- object store pointer when overflowed
  ${s}_object TEXT,
  ${s}_dropped INTEGER`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE executions (
  exec_id TEXT PRIMARY KEY,
  announced INTEGER NOT NULL DEFAULT 0,   -- 1 once the run.start receipt was projected
  job_id TEXT NOT NULL,
  job_version TEXT NOT NULL,
  job_revision INTEGER,
  trigger_kind TEXT,
  actor TEXT,
  schedule_id TEXT,
  fire_at TEXT,
  targets TEXT,                           -- JSON array of ExecTarget
  params TEXT,                            -- JSON object
  request_ids TEXT,                       -- JSON array
  expected_count INTEGER,
  deadline_at TEXT,
  receipt_id TEXT,
  announced_at TEXT,
  -- derived by recomputeExecutions from runs; never incremented
  started_at TEXT,
  total INTEGER NOT NULL DEFAULT 0,
  queued INTEGER NOT NULL DEFAULT 0,
  delivered INTEGER NOT NULL DEFAULT 0,
  running INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  timeout INTEGER NOT NULL DEFAULT 0,
  killed INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  error INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'running', -- running | ok | failed
  finished_at TEXT
);
CREATE INDEX executions_started ON executions (started_at);
CREATE INDEX executions_job ON executions (job_id, started_at);
CREATE INDEX executions_open ON executions (status, deadline_at);

CREATE TABLE runs (
  exec_id TEXT NOT NULL,
  pc_id TEXT NOT NULL,
  expected INTEGER NOT NULL DEFAULT 0,
  request_id TEXT,
  accepted_at TEXT,
  started_at TEXT,
  skipped_at TEXT,
  skip_reason TEXT,
  result_id TEXT,
  status TEXT,
  exit_code INTEGER,
  reason TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  expired INTEGER NOT NULL DEFAULT 0,
  state TEXT GENERATED ALWAYS AS (${RUN_STATE}) STORED,
  PRIMARY KEY (exec_id, pc_id)
);
CREATE INDEX runs_pc ON runs (pc_id);

CREATE TABLE results (
  result_id TEXT PRIMARY KEY,
  stream_seq INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  exec_id TEXT NOT NULL,
  pc_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  job_version TEXT NOT NULL,
  status TEXT NOT NULL,
  exit_code INTEGER,
  reason TEXT,
  started_at TEXT,
  finished_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,${OUTPUT_COLUMNS('stdout')},${OUTPUT_COLUMNS('stderr')}
);
CREATE INDEX results_exec_output ON results (exec_id, stdout_sha256, status, exit_code);
CREATE INDEX results_pc ON results (pc_id, finished_at);
CREATE INDEX results_finished ON results (finished_at);

CREATE TABLE run_events (
  id TEXT PRIMARY KEY,
  stream_seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  pc_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  exec_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX run_events_pc ON run_events (pc_id, at);
CREATE INDEX run_events_at ON run_events (at);

CREATE TABLE obs_events (
  id TEXT PRIMARY KEY,
  stream_seq INTEGER NOT NULL,
  pc_id TEXT NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX obs_events_pc ON obs_events (pc_id, at);
CREATE INDEX obs_events_at ON obs_events (at);

CREATE TABLE inventory (
  id TEXT PRIMARY KEY,
  stream_seq INTEGER NOT NULL,
  pc_id TEXT NOT NULL,
  at TEXT NOT NULL,
  source TEXT NOT NULL,
  job_id TEXT,
  data TEXT NOT NULL
);
CREATE INDEX inventory_pc ON inventory (pc_id, at);
CREATE INDEX inventory_at ON inventory (at);

CREATE TABLE audit (
  id TEXT PRIMARY KEY,
  stream_seq INTEGER NOT NULL,
  at TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  action TEXT NOT NULL,
  target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL,
  revision_before INTEGER,
  revision_after INTEGER,
  via TEXT NOT NULL,
  file TEXT,
  git_commit TEXT,
  summary TEXT NOT NULL,
  details TEXT
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_action ON audit (action, at);
CREATE INDEX audit_target ON audit (target_id, at);

CREATE TABLE agents (
  pc_id TEXT PRIMARY KEY,
  kv_revision INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  os TEXT NOT NULL,
  arch TEXT NOT NULL,
  agent_version TEXT NOT NULL,
  groups TEXT NOT NULL,       -- JSON array
  started_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  running TEXT NOT NULL       -- JSON array of RunningScript
);

CREATE TABLE projection_errors (
  stream TEXT NOT NULL,
  seq INTEGER NOT NULL,
  subject TEXT NOT NULL,
  at TEXT NOT NULL,           -- when the message was stored in the stream
  error TEXT NOT NULL,
  raw TEXT NOT NULL,          -- the first bytes of the payload
  PRIMARY KEY (stream, seq)
);

-- Settings of the writer the readers need (the presence rule). Not part of the projection.
CREATE TABLE projector_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`,
  },
  {
    version: 2,
    name: 'result emitted counts; inventory history per source',
    sql: `
ALTER TABLE results ADD COLUMN emitted TEXT;  -- JSON {events, invalid[, capped]} or NULL
CREATE INDEX inventory_pc_source ON inventory (pc_id, source, job_id, at);
`,
  },
  {
    version: 3,
    name: 'retries: attempts of results, retrying and late-expired runs',
    // A generated column cannot be altered, so `runs` is rebuilt with the new state rule.
    sql: `
ALTER TABLE results ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE results ADD COLUMN retry_at TEXT;  -- set when the agent will run the request again
ALTER TABLE executions ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;
CREATE TABLE runs_v3 (
  exec_id TEXT NOT NULL,
  pc_id TEXT NOT NULL,
  expected INTEGER NOT NULL DEFAULT 0,
  request_id TEXT,
  accepted_at TEXT,
  started_at TEXT,
  skipped_at TEXT,
  skip_reason TEXT,
  result_id TEXT,
  status TEXT,
  exit_code INTEGER,
  reason TEXT,
  finished_at TEXT,
  duration_ms INTEGER,
  expired INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1,   -- the attempt of the result the row shows
  retry_at TEXT,                        -- that result's retryAt: another attempt follows
  state TEXT GENERATED ALWAYS AS (${RUN_STATE_3}) STORED,
  PRIMARY KEY (exec_id, pc_id)
);
INSERT INTO runs_v3 (${RUN_COLUMNS}) SELECT ${RUN_COLUMNS} FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v3 RENAME TO runs;
CREATE INDEX runs_pc ON runs (pc_id);
`,
  },
  {
    version: 4,
    name: 'results indexed by execution and pc; the timeline reaches them through runs',
    // An index that starts with the pc takes a write on every pc's page for every batch of a
    // fan-out; (exec_id, pc_id) is written in order. It serves the output groups (every result of
    // an execution, by pc) and, through runs_pc, an endpoint's finished runs (docs/projector.md,
    // "Throughput").
    sql: `
DROP INDEX results_pc;
DROP INDEX results_exec_output;
CREATE INDEX results_exec_pc ON results (exec_id, pc_id);
`,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** The version a database is at (0 when new). */
export function schemaVersion(db: Db): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/** Applies the missing migrations in order; refuses a database newer than this build. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = schemaVersion(db);
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new SchemaError(
      `${db.name}: schema version ${current} is newer than this build's ${latest}; upgrade baton or rebuild the projection`,
    );
  }
  const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    }).immediate();
  }
  return latest;
}

/** Tables of the projection proper (what a rebuild must reproduce), in a stable order. */
export const PROJECTION_TABLES = [
  'executions',
  'runs',
  'results',
  'run_events',
  'obs_events',
  'inventory',
  'audit',
  'agents',
  'projection_errors',
] as const;
export type ProjectionTable = (typeof PROJECTION_TABLES)[number];
