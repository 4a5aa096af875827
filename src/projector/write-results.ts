// SQL of projecting an ExecResult: the result row (keyed by result id: a duplicate is a no-op),
// the per-pc run row it finishes, and a placeholder execution when the run.start receipt has not
// been projected yet (streams are independent).
import type { ExecResult, OutputStream } from '../wire/index.js';
import type { Db } from './db.js';
import { iso } from './values.js';

function outputValues(o: OutputStream) {
  return {
    bytes: o.bytes,
    sha256: o.sha256,
    encoding: o.inline?.encoding ?? null,
    inline: o.inline?.data ?? null,
    bucket: o.object?.bucket ?? null,
    object: o.object?.name ?? null,
    dropped: o.dropped ?? null,
  };
}

export type ResultWriter = {
  write(r: ExecResult, streamSeq: number): void;
  /** A placeholder execution for a result whose run.start receipt is not projected yet. */
  placeholder(execId: string, jobId: string, jobVersion: string): void;
};

export function resultWriter(db: Db): ResultWriter {
  const insertResult = db.prepare(`
    INSERT INTO results (result_id, stream_seq, request_id, exec_id, pc_id, job_id, job_version, status,
      exit_code, reason, started_at, finished_at, duration_ms,
      stdout_bytes, stdout_sha256, stdout_encoding, stdout_inline, stdout_bucket, stdout_object, stdout_dropped,
      stderr_bytes, stderr_sha256, stderr_encoding, stderr_inline, stderr_bucket, stderr_object, stderr_dropped)
    VALUES (@resultId, @seq, @requestId, @execId, @pcId, @jobId, @jobVersion, @status,
      @exitCode, @reason, @startedAt, @finishedAt, @durationMs,
      @oBytes, @oSha, @oEnc, @oInline, @oBucket, @oObject, @oDropped,
      @eBytes, @eSha, @eEnc, @eInline, @eBucket, @eObject, @eDropped)
    ON CONFLICT (result_id) DO NOTHING`);
  // Several results for one exec × pc (two targets reaching the same pc): the greatest result id
  // is the one the run row shows, whatever order they arrive in. `runs.started_at` comes from the
  // `started` event only (the result row keeps its own).
  const upsertRun = db.prepare(`
    INSERT INTO runs (exec_id, pc_id, request_id, result_id, status, exit_code, reason, finished_at, duration_ms)
    VALUES (@execId, @pcId, @requestId, @resultId, @status, @exitCode, @reason, @finishedAt, @durationMs)
    ON CONFLICT (exec_id, pc_id) DO UPDATE SET
      request_id = excluded.request_id, result_id = excluded.result_id, status = excluded.status,
      exit_code = excluded.exit_code, reason = excluded.reason, finished_at = excluded.finished_at,
      duration_ms = excluded.duration_ms, expired = 0
    WHERE runs.result_id IS NULL OR excluded.result_id > runs.result_id`);
  const placeholder = db.prepare(`
    INSERT INTO executions (exec_id, job_id, job_version) VALUES (?, ?, ?)
    ON CONFLICT (exec_id) DO NOTHING`);

  return {
    write(r, streamSeq) {
      const o = outputValues(r.stdout);
      const e = outputValues(r.stderr);
      const row = {
        resultId: r.resultId,
        seq: streamSeq,
        requestId: r.requestId,
        execId: r.execId,
        pcId: r.pcId,
        jobId: r.jobId,
        jobVersion: r.jobVersion,
        status: r.status,
        exitCode: r.exitCode,
        reason: r.reason ?? null,
        startedAt: iso(r.startedAt),
        finishedAt: iso(r.finishedAt),
        durationMs: r.durationMs,
      };
      insertResult.run({
        ...row,
        oBytes: o.bytes,
        oSha: o.sha256,
        oEnc: o.encoding,
        oInline: o.inline,
        oBucket: o.bucket,
        oObject: o.object,
        oDropped: o.dropped,
        eBytes: e.bytes,
        eSha: e.sha256,
        eEnc: e.encoding,
        eInline: e.inline,
        eBucket: e.bucket,
        eObject: e.object,
        eDropped: e.dropped,
      });
      const { seq: _seq, jobId: _j, jobVersion: _v, startedAt: _s, ...run } = row;
      upsertRun.run(run);
    },
    placeholder(execId, jobId, jobVersion) {
      placeholder.run(execId, jobId, jobVersion);
    },
  };
}
