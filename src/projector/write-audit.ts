// SQL of projecting audit receipts, and of the execution a `run.start` receipt announces: the
// execution row (filling in a placeholder made by an earlier result) and one run row per
// expected pc, so pcs that never answer are visible and can expire.
import type { AuditEvent, RunStart } from '../wire/index.js';
import type { Db } from './db.js';
import { canonicalJson, iso } from './values.js';

export type AuditWriter = {
  receipt(e: AuditEvent, streamSeq: number): void;
  runStart(e: AuditEvent, start: RunStart): void;
};

export function auditWriter(db: Db): AuditWriter {
  const insertReceipt = db.prepare(`
    INSERT INTO audit (id, stream_seq, at, actor_kind, actor_name, action, target_kind, target_id,
      revision_before, revision_after, via, file, git_commit, summary, details)
    VALUES (@id, @seq, @at, @actorKind, @actorName, @action, @targetKind, @targetId,
      @revisionBefore, @revisionAfter, @via, @file, @gitCommit, @summary, @details)
    ON CONFLICT (id) DO NOTHING`);
  const upsertExecution = db.prepare(`
    INSERT INTO executions (exec_id, announced, job_id, job_version, job_revision, trigger_kind, actor,
      schedule_id, fire_at, targets, params, request_ids, expected_count, deadline_at, receipt_id, announced_at)
    VALUES (@execId, 1, @jobId, @jobVersion, @jobRevision, @triggerKind, @actor,
      @scheduleId, @fireAt, @targets, @params, @requestIds, @expectedCount, @deadlineAt, @receiptId, @announcedAt)
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
    receipt(e, seq) {
      insertReceipt.run({
        id: e.id,
        seq,
        at: iso(e.at),
        actorKind: e.actor.kind,
        actorName: e.actor.name,
        action: e.action,
        targetKind: e.target.kind,
        targetId: e.target.id,
        revisionBefore: e.revisionBefore,
        revisionAfter: e.revisionAfter,
        via: e.source.via,
        file: e.source.file ?? null,
        gitCommit: e.source.gitCommit ?? null,
        summary: e.summary,
        details: e.details === undefined ? null : canonicalJson(e.details),
      });
    },
    runStart(e, s) {
      const t = s.trigger;
      upsertExecution.run({
        execId: s.execId,
        jobId: s.jobId,
        jobVersion: s.jobVersion,
        jobRevision: s.jobRevision,
        triggerKind: t.kind,
        actor: t.actor,
        scheduleId: t.kind === 'schedule' ? t.scheduleId : null,
        fireAt: t.kind === 'schedule' ? iso(t.fireAt) : null,
        targets: canonicalJson(s.targets),
        params: canonicalJson(s.params),
        requestIds: JSON.stringify(s.requestIds),
        expectedCount: new Set(s.expectedPcs).size,
        deadlineAt: iso(s.deadlineAt),
        receiptId: e.id,
        announcedAt: iso(e.at),
      });
      for (const pc of new Set(s.expectedPcs)) expectRun.run(s.execId, pc);
    },
  };
}
