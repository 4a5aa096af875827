// SQL of projecting RunEvents, ObsEvents and Inventory snapshots: one row per message id (a
// duplicate is a no-op), and for run events the lifecycle step on the per-pc run row. Times on the
// run row are combined with MIN, so the order of arrival does not matter; the request id of a run
// row is its result's once there is one.
import type { Inventory, ObsEvent, RunEvent } from '../wire/index.js';
import type { Db } from './db.js';
import { canonicalJson, iso } from './values.js';

export type EventWriter = {
  runEvent(e: RunEvent, streamSeq: number): void;
  obsEvent(e: ObsEvent, streamSeq: number): void;
  inventory(i: Inventory, streamSeq: number): void;
};

const earliest = (col: string) =>
  `${col} = COALESCE(MIN(runs.${col}, excluded.${col}), runs.${col}, excluded.${col})`;

export function eventWriter(db: Db): EventWriter {
  const insertRunEvent = db.prepare(`
    INSERT INTO run_events (id, stream_seq, at, pc_id, request_id, exec_id, job_id, kind, reason)
    VALUES (@id, @seq, @at, @pcId, @requestId, @execId, @jobId, @kind, @reason)
    ON CONFLICT (id) DO NOTHING`);
  const step = (col: 'accepted_at' | 'started_at' | 'skipped_at', extra = '') =>
    db.prepare(`
      INSERT INTO runs (exec_id, pc_id, request_id, ${col}${extra ? ', skip_reason' : ''})
      VALUES (@execId, @pcId, @requestId, @at${extra ? ', @reason' : ''})
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
    runEvent(e, seq) {
      const row = {
        id: e.id,
        seq,
        at: iso(e.at),
        pcId: e.pcId,
        requestId: e.requestId,
        execId: e.execId,
        jobId: e.jobId,
        kind: e.kind,
        reason: e.reason ?? null,
      };
      insertRunEvent.run(row);
      const run = { execId: e.execId, pcId: e.pcId, requestId: e.requestId, at: row.at };
      switch (e.kind) {
        case 'accepted':
          accepted.run(run);
          break;
        case 'started':
          started.run(run);
          break;
        case 'skipped':
          skipped.run({ ...run, reason: row.reason });
          break;
        default: {
          const never: never = e.kind;
          throw new Error(`unhandled run event kind ${String(never)}`);
        }
      }
    },
    obsEvent(e, seq) {
      insertObs.run(e.id, seq, e.pcId, iso(e.at), e.kind, e.source, canonicalJson(e.payload));
    },
    inventory(i, seq) {
      insertInventory.run(i.id, seq, i.pcId, iso(i.at), i.source, i.jobId ?? null, canonicalJson(i.data));
    },
  };
}
