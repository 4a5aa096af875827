// SQL of projecting an ExecResult: the result row (keyed by result id: a duplicate is a no-op),
// the per-pc run row it finishes, and a placeholder execution when the run.start receipt has not
// been projected yet (streams are independent). The column values come from decode.ts.
import type { Db } from './db.js';
import { RESULT_COL as C, type ResultRow } from './decode.js';

export type ResultWriter = {
  write(row: ResultRow): void;
  /** A placeholder execution for a result whose run.start receipt is not projected yet. */
  placeholder(execId: string, jobId: string, jobVersion: string): void;
};

export function resultWriter(db: Db): ResultWriter {
  // Positional parameters: this runs once per result, and binding 28 named parameters from
  // a fresh object cost more than the insert itself (docs/projector.md).
  const insertResult = db.prepare(`
    INSERT INTO results (result_id, stream_seq, request_id, exec_id, pc_id, job_id, job_version, status,
      exit_code, reason, started_at, finished_at, duration_ms,
      stdout_bytes, stdout_sha256, stdout_encoding, stdout_inline, stdout_bucket, stdout_object, stdout_dropped,
      stderr_bytes, stderr_sha256, stderr_encoding, stderr_inline, stderr_bucket, stderr_object, stderr_dropped,
      emitted, attempt, retry_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (result_id) DO NOTHING`);
  // Several results for one exec × pc (attempts of a retried request; two targets reaching the
  // same pc): the latest attempt, then the greatest result id, is the one the run row shows,
  // whatever order they arrive in. `runs.started_at` comes from the `started` event only (the
  // result row keeps its own).
  const upsertRun = db.prepare(`
    INSERT INTO runs (exec_id, pc_id, request_id, result_id, status, exit_code, reason, finished_at, duration_ms,
      attempt, retry_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (exec_id, pc_id) DO UPDATE SET
      request_id = excluded.request_id, result_id = excluded.result_id, status = excluded.status,
      exit_code = excluded.exit_code, reason = excluded.reason, finished_at = excluded.finished_at,
      duration_ms = excluded.duration_ms, attempt = excluded.attempt, retry_at = excluded.retry_at, expired = 0
    WHERE runs.result_id IS NULL OR excluded.attempt > runs.attempt
      OR (excluded.attempt = runs.attempt AND excluded.result_id > runs.result_id)`);
  const placeholder = db.prepare(`
    INSERT INTO executions (exec_id, job_id, job_version) VALUES (?, ?, ?)
    ON CONFLICT (exec_id) DO NOTHING`);

  return {
    write(r) {
      insertResult.run(r);
      upsertRun.run(
        r[C.execId], r[C.pcId], r[C.requestId], r[C.resultId], r[C.status], r[C.exitCode], r[C.reason],
        r[C.finishedAt], r[C.durationMs], r[C.attempt], r[C.retryAt],
      ); // prettier-ignore
    },
    placeholder(execId, jobId, jobVersion) {
      placeholder.run(execId, jobId, jobVersion);
    },
  };
}
