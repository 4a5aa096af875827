// SQL that derives an execution's counters and outcome from its run rows. Counters are never
// incremented: they are recounted for every execution a batch touched, so a duplicate or
// redelivered message cannot count twice. Also the expiry sweep.
import type { Db } from './db.js';

export type ExecutionWriter = {
  /** Recounts the execution's runs and sets its status (`running` until final, then `ok` or `failed`). */
  recompute(execId: string): void;
  /**
   * Marks runs `expired` that have no sign of life (no event, no result) when their execution's
   * deadline is before `nowIso`. Returns the executions touched.
   */
  sweepExpired(nowIso: string): string[];
  /** Executions not final yet (`running`). */
  open(): string[];
};

// Final: the receipt said which pcs to expect, each has a row, and no row is still in flight.
const FINAL = 'executions.announced = 1 AND c.total >= executions.expected_count AND c.open = 0';

export function executionWriter(db: Db): ExecutionWriter {
  const recompute = db.prepare(`
    UPDATE executions SET
      total = c.total, queued = c.queued, delivered = c.delivered, running = c.running, ok = c.ok,
      failed = c.failed, timeout = c.timeout, killed = c.killed, skipped = c.skipped, error = c.error,
      expired = c.expired, retrying = c.retrying,
      started_at = COALESCE(executions.announced_at, c.first_at),
      status = CASE WHEN ${FINAL} THEN (CASE WHEN c.ok = c.total THEN 'ok' ELSE 'failed' END) ELSE 'running' END,
      finished_at = CASE WHEN ${FINAL} THEN NULLIF(MAX(COALESCE(c.last_at, ''),
        CASE WHEN c.expired > 0 THEN COALESCE(executions.deadline_at, '') ELSE '' END), '') END
    FROM (
      SELECT
        COUNT(*) AS total,
        COALESCE(SUM(state = 'queued'), 0) AS queued,
        COALESCE(SUM(state = 'delivered'), 0) AS delivered,
        COALESCE(SUM(state = 'running'), 0) AS running,
        COALESCE(SUM(state = 'ok'), 0) AS ok,
        COALESCE(SUM(state = 'failed'), 0) AS failed,
        COALESCE(SUM(state = 'timeout'), 0) AS timeout,
        COALESCE(SUM(state = 'killed'), 0) AS killed,
        COALESCE(SUM(state = 'skipped'), 0) AS skipped,
        COALESCE(SUM(state = 'error'), 0) AS error,
        COALESCE(SUM(state = 'expired'), 0) AS expired,
        COALESCE(SUM(state = 'retrying'), 0) AS retrying,
        MIN(COALESCE(accepted_at, started_at, skipped_at, finished_at)) AS first_at,
        MAX(COALESCE(finished_at, skipped_at)) AS last_at,
        COALESCE(SUM(state IN ('queued', 'delivered', 'running', 'retrying')), 0) AS open
      FROM runs WHERE exec_id = @execId
    ) AS c
    WHERE executions.exec_id = @execId`);
  // No sign of life, or a retry the agent never reported on (it was retrying when it went away).
  const expire = db.prepare(`
    UPDATE runs SET expired = 1
    WHERE expired = 0
      AND ((status IS NULL AND accepted_at IS NULL AND started_at IS NULL AND skipped_at IS NULL)
        OR (status IS NOT NULL AND retry_at IS NOT NULL))
      AND exec_id IN (SELECT exec_id FROM executions
                      WHERE status = 'running' AND deadline_at IS NOT NULL AND deadline_at < ?)
    RETURNING exec_id`);

  const open = db.prepare(`SELECT exec_id FROM executions WHERE status = 'running'`).pluck();

  return {
    open: () => open.all() as string[],
    recompute(execId) {
      recompute.run({ execId });
    },
    sweepExpired(nowIso) {
      const rows = expire.all(nowIso) as { exec_id: string }[];
      const touched = [...new Set(rows.map((r) => r.exec_id))];
      for (const id of touched) recompute.run({ execId: id });
      return touched;
    },
  };
}
