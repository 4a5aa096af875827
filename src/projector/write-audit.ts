// SQL of projecting audit receipts, and of the execution a `run.start` receipt announces: the
// execution row (filling in a placeholder made by an earlier result) and one run row per
// expected pc, so pcs that never answer are visible and can expire. The column values come from
// decode.ts.
import type { Db } from './db.js';
import type { ReceiptRow, RunStartRows } from './decode.js';

export type AuditWriter = {
  receipt(row: ReceiptRow): void;
  runStart(start: RunStartRows): void;
};

export function auditWriter(db: Db): AuditWriter {
  const insertReceipt = db.prepare(`
    INSERT INTO audit (id, stream_seq, at, actor_kind, actor_name, action, target_kind, target_id,
      revision_before, revision_after, via, file, git_commit, summary, details)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`);
  const upsertExecution = db.prepare(`
    INSERT INTO executions (exec_id, announced, job_id, job_version, job_revision, trigger_kind, actor,
      schedule_id, fire_at, targets, params, request_ids, expected_count, deadline_at, receipt_id, announced_at)
    VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (exec_id) DO UPDATE SET
      announced = 1, job_id = excluded.job_id, job_version = excluded.job_version,
      job_revision = excluded.job_revision, trigger_kind = excluded.trigger_kind, actor = excluded.actor,
      schedule_id = excluded.schedule_id, fire_at = excluded.fire_at, targets = excluded.targets,
      params = excluded.params, request_ids = excluded.request_ids, expected_count = excluded.expected_count,
      deadline_at = excluded.deadline_at, receipt_id = excluded.receipt_id, announced_at = excluded.announced_at`);
  const expectRun = db.prepare(`
    INSERT INTO runs (exec_id, pc_id, expected) VALUES (?, ?, 1)
    ON CONFLICT (exec_id, pc_id) DO UPDATE SET expected = 1`);

  return {
    receipt(row) {
      insertReceipt.run(row);
    },
    runStart(s) {
      upsertExecution.run(s.execution);
      for (const pc of s.pcs) expectRun.run(s.execId, pc);
    },
  };
}
