// SQL of an endpoint's timeline: its ObsEvents (online/offline, boot, logon, job-emitted events),
// its run lifecycle events and its finished runs (every attempt's result, found through the
// pc's run rows: results are indexed by execution), in time order.
import type { Db } from './db.js';

/** Kinds of timeline entries made from runs, next to the open set of ObsEvent kinds. */
export const RUN_TIMELINE_KINDS = ['run_accepted', 'run_started', 'run_skipped', 'run_finished'] as const;

export type TimelineEntry = {
  at: string;
  kind: string;
  source: string;
  id: string;
  details: Record<string, unknown>;
};

export type TimelineFilter = { since?: string; kinds?: string[]; limit?: number };

export type TimelineQueries = { timeline(pcId: string, f: TimelineFilter): TimelineEntry[] };

export function timelineQueries(db: Db): TimelineQueries {
  const stmt = db.prepare(`
    SELECT * FROM (
      SELECT at, kind, source, id, payload AS details FROM obs_events WHERE pc_id = @pc AND at >= @since
      UNION ALL
      SELECT at, 'run_' || kind, 'agent', id,
        json_object('execId', exec_id, 'jobId', job_id, 'requestId', request_id, 'reason', reason)
      FROM run_events WHERE pc_id = @pc AND at >= @since
      UNION ALL
      SELECT r.finished_at, 'run_finished', 'agent', r.result_id,
        json_object('execId', r.exec_id, 'jobId', r.job_id, 'status', r.status, 'exitCode', r.exit_code,
          'resultId', r.result_id, 'durationMs', r.duration_ms)
      FROM runs AS u JOIN results AS r ON r.exec_id = u.exec_id AND r.pc_id = u.pc_id
      WHERE u.pc_id = @pc AND r.finished_at >= @since
    )
    WHERE (@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds)))
    ORDER BY at DESC, id DESC
    LIMIT @limit`);
  return {
    timeline(pc, f) {
      const rows = stmt.all({
        pc,
        since: f.since ?? '',
        kinds: f.kinds && f.kinds.length > 0 ? JSON.stringify(f.kinds) : null,
        limit: f.limit ?? 200,
      }) as (Omit<TimelineEntry, 'details'> & { details: string })[];
      // Newest `limit`, printed oldest first like a log.
      return rows.reverse().map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
    },
  };
}
