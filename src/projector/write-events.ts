// SQL of projecting RunEvents, ObsEvents and Inventory snapshots: one row per message id (a
// duplicate is a no-op), and for run events the lifecycle step on the per-pc run row. Times on the
// run row are combined with MIN, so the order of arrival does not matter; the request id of a run
// row is its result's once there is one. The column values come from decode.ts.
import type { Db } from './db.js';
import type { EventRow, RunEventRow } from './decode.js';

export type EventWriter = {
  runEvent(row: RunEventRow): void;
  obsEvent(row: EventRow): void;
  inventory(row: EventRow): void;
};

const earliest = (col: string) =>
  `${col} = COALESCE(MIN(runs.${col}, excluded.${col}), runs.${col}, excluded.${col})`;

export function eventWriter(db: Db): EventWriter {
  const insertRunEvent = db.prepare(`
    INSERT INTO run_events (id, stream_seq, at, pc_id, request_id, exec_id, job_id, kind, reason)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`);
  const step = (col: 'accepted_at' | 'started_at' | 'skipped_at', extra = '') =>
    db.prepare(`
      INSERT INTO runs (exec_id, pc_id, request_id, ${col}${extra ? ', skip_reason' : ''})
      VALUES (?, ?, ?, ?${extra ? ', ?' : ''})
      ON CONFLICT (exec_id, pc_id) DO UPDATE SET
        ${earliest(col)}, expired = 0,
        request_id = CASE WHEN runs.result_id IS NOT NULL THEN runs.request_id
          ELSE COALESCE(MIN(runs.request_id, excluded.request_id), runs.request_id, excluded.request_id) END${extra}`);
  const accepted = step('accepted_at');
  const started = step('started_at');
  const skipped = step(
    'skipped_at',
    ', skip_reason = CASE WHEN runs.skipped_at IS NULL OR excluded.skipped_at < runs.skipped_at THEN excluded.skip_reason ELSE runs.skip_reason END',
  );
  const insertObs = db.prepare(`
    INSERT INTO obs_events (id, stream_seq, pc_id, at, kind, source, payload)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);
  const insertInventory = db.prepare(`
    INSERT INTO inventory (id, stream_seq, pc_id, at, source, job_id, data)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);

  return {
    runEvent(row) {
      insertRunEvent.run(row);
      const [, , at, pcId, requestId, execId, , kind, reason] = row;
      switch (kind) {
        case 'accepted':
          accepted.run(execId, pcId, requestId, at);
          break;
        case 'started':
          started.run(execId, pcId, requestId, at);
          break;
        case 'skipped':
          skipped.run(execId, pcId, requestId, at, reason);
          break;
        default:
          throw new Error(`unhandled run event kind ${kind}`);
      }
    },
    obsEvent(row) {
      insertObs.run(row);
    },
    inventory(row) {
      insertInventory.run(row);
    },
  };
}
