// SQL of reading one result with its output streams as the wire describes them (inline data, or a
// pointer into the object store).
import type { Emitted, OutputStream } from '../wire/index.js';
import type { Db } from './db.js';

export type ResultRow = {
  resultId: string;
  requestId: string;
  execId: string;
  pcId: string;
  jobId: string;
  jobVersion: string;
  status: string;
  exitCode: number | null;
  reason: string | null;
  startedAt: string | null;
  finishedAt: string;
  durationMs: number;
  stdout: OutputStream;
  stderr: OutputStream;
  /** What a job with `emit` or `inventory` published from its stdout; absent otherwise. */
  emitted?: Emitted;
  /** Which attempt of the request on the pc (1 unless the job retries). */
  attempt: number;
  /** Set when another attempt followed (or is due): when it could start. */
  retryAt: string | null;
};

type Db0 = Record<string, string | number | null>;

function stream(r: Db0, s: 'stdout' | 'stderr'): OutputStream {
  const out: OutputStream = { bytes: Number(r[`${s}_bytes`]), sha256: String(r[`${s}_sha256`]) };
  const enc = r[`${s}_encoding`];
  if (enc === 'utf8' || enc === 'base64')
    out.inline = { encoding: enc, data: String(r[`${s}_inline`] ?? '') };
  if (r[`${s}_bucket`] !== null && r[`${s}_object`] !== null) {
    out.object = { bucket: String(r[`${s}_bucket`]), name: String(r[`${s}_object`]) };
  }
  if (r[`${s}_dropped`] !== null) out.dropped = Number(r[`${s}_dropped`]);
  return out;
}

export type ResultQueries = { get(resultId: string): ResultRow | undefined };

export function resultQueries(db: Db): ResultQueries {
  const get = db.prepare('SELECT * FROM results WHERE result_id = ?');
  return {
    get(id) {
      const r = get.get(id) as Db0 | undefined;
      if (!r) return undefined;
      return {
        resultId: String(r['result_id']),
        requestId: String(r['request_id']),
        execId: String(r['exec_id']),
        pcId: String(r['pc_id']),
        jobId: String(r['job_id']),
        jobVersion: String(r['job_version']),
        status: String(r['status']),
        exitCode: r['exit_code'] as number | null,
        reason: r['reason'] as string | null,
        startedAt: r['started_at'] as string | null,
        finishedAt: String(r['finished_at']),
        durationMs: Number(r['duration_ms']),
        stdout: stream(r, 'stdout'),
        stderr: stream(r, 'stderr'),
        attempt: Number(r['attempt'] ?? 1),
        retryAt: (r['retry_at'] ?? null) as string | null,
        ...(r['emitted'] === null || r['emitted'] === undefined
          ? {}
          : { emitted: JSON.parse(String(r['emitted'])) as Emitted }),
      };
    },
  };
}
