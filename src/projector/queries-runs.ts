// SQL of the execution queries: list, one execution with its per-pc runs, and its output groups.
import type { Db } from './db.js';

export const RUN_STATES = [
  'queued',
  'delivered',
  'running',
  'retrying',
  'ok',
  'failed',
  'timeout',
  'killed',
  'skipped',
  'error',
  'expired',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export const EXECUTION_STATUSES = ['running', 'ok', 'failed'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export type ExecutionCounts = Record<RunState, number> & { total: number };

export type ExecutionRow = {
  execId: string;
  announced: boolean;
  jobId: string;
  jobVersion: string;
  jobRevision: number | null;
  trigger: string | null;
  actor: string | null;
  scheduleId: string | null;
  fireAt: string | null;
  targets: unknown[];
  params: Record<string, string>;
  requestIds: string[];
  expected: number | null;
  deadlineAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  status: ExecutionStatus;
  counts: ExecutionCounts;
};

export type RunRow = {
  pcId: string;
  expected: boolean;
  state: RunState;
  requestId: string | null;
  resultId: string | null;
  exitCode: number | null;
  reason: string | null;
  acceptedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** The attempt the row's result reports (1 unless the job retries). */
  attempt: number;
  /** Set while another attempt is due: when it starts at the earliest. */
  retryAt: string | null;
};

export type OutputGroup = {
  stdoutSha256: string;
  stdoutBytes: number;
  status: string;
  exitCode: number | null;
  count: number;
  pcs: string[];
  /** One result of the group, to show the output with `baton results show`. */
  sampleResultId: string;
};

export type ExecutionFilter = {
  jobId?: string;
  status?: ExecutionStatus;
  /** Executions started at or after this time (RFC 3339). */
  since?: string;
  /** Newest first; default 50. */
  limit?: number;
};

type DbExecution = Record<string, unknown> & {
  exec_id: string;
  announced: number;
  targets: string | null;
  params: string | null;
  request_ids: string | null;
};

function toExecution(r: DbExecution): ExecutionRow {
  const n = (k: string) => Number(r[k] ?? 0);
  const counts = Object.fromEntries(RUN_STATES.map((s) => [s, n(s)])) as Record<RunState, number>;
  const s = (k: string) => (r[k] ?? null) as string | null;
  return {
    execId: r.exec_id,
    announced: r.announced === 1,
    jobId: s('job_id')!,
    jobVersion: s('job_version')!,
    jobRevision: (r['job_revision'] ?? null) as number | null,
    trigger: s('trigger_kind'),
    actor: s('actor'),
    scheduleId: s('schedule_id'),
    fireAt: s('fire_at'),
    targets: r.targets ? (JSON.parse(r.targets) as unknown[]) : [],
    params: r.params ? (JSON.parse(r.params) as Record<string, string>) : {},
    requestIds: r.request_ids ? (JSON.parse(r.request_ids) as string[]) : [],
    expected: (r['expected_count'] ?? null) as number | null,
    deadlineAt: s('deadline_at'),
    startedAt: s('started_at'),
    finishedAt: s('finished_at'),
    status: s('status') as ExecutionStatus,
    counts: { ...counts, total: n('total') },
  };
}

export type RunQueries = {
  list(f: ExecutionFilter): ExecutionRow[];
  get(execId: string): ExecutionRow | undefined;
  runs(execId: string): RunRow[];
  outputGroups(execId: string): OutputGroup[];
};

export function runQueries(db: Db): RunQueries {
  const list = db.prepare(`
    SELECT * FROM executions
    WHERE (@jobId IS NULL OR job_id = @jobId)
      AND (@status IS NULL OR status = @status)
      AND (@since IS NULL OR started_at >= @since)
    ORDER BY started_at DESC, exec_id DESC
    LIMIT @limit`);
  const get = db.prepare('SELECT * FROM executions WHERE exec_id = ?');
  const runs = db.prepare(`
    SELECT pc_id AS pcId, expected, state, request_id AS requestId, result_id AS resultId,
      exit_code AS exitCode, COALESCE(reason, skip_reason) AS reason, accepted_at AS acceptedAt,
      started_at AS startedAt, finished_at AS finishedAt, duration_ms AS durationMs,
      attempt, retry_at AS retryAt
    FROM runs WHERE exec_id = ? ORDER BY pc_id`);
  const groups = db.prepare(`
    SELECT stdout_sha256 AS stdoutSha256, MAX(stdout_bytes) AS stdoutBytes, status, exit_code AS exitCode,
      COUNT(*) AS count, json_group_array(pc_id) AS pcs, MIN(result_id) AS sampleResultId
    FROM (SELECT * FROM results WHERE exec_id = ? AND retry_at IS NULL ORDER BY pc_id)
    GROUP BY stdout_sha256, status, exit_code
    ORDER BY count DESC, stdoutSha256`);
  return {
    list: (f) =>
      (
        list.all({
          jobId: f.jobId ?? null,
          status: f.status ?? null,
          since: f.since ?? null,
          limit: f.limit ?? 50,
        }) as DbExecution[]
      ).map(toExecution),
    get: (id) => {
      const r = get.get(id) as DbExecution | undefined;
      return r && toExecution(r);
    },
    runs: (id) =>
      (runs.all(id) as (Omit<RunRow, 'expected'> & { expected: number })[]).map((r) => ({
        ...r,
        expected: r.expected === 1,
      })),
    outputGroups: (id) =>
      (groups.all(id) as (OutputGroup & { pcs: string })[]).map((g) => ({
        ...g,
        pcs: JSON.parse(g.pcs) as string[],
      })),
  };
}
