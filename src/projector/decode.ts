// Decoding a stream message into what it writes: validation at the edge, the subject checks and
// the column values, with no database. The result is an Op, plain data (arrays of column values in
// the writers' parameter order), so the stream consumer's thread can decode a batch and hand the
// apply worker only what to write, in one cloned message (docs/projector.md, "Throughput").
//
// A message that does not decode becomes an `error` op: the writer records it in
// `projection_errors` with the message's own bytes.
import {
  parseAuditEvent,
  parseExecResult,
  parseInventory,
  parseObsEvent,
  parseRunEvent,
  parseRunStart,
  parseSubject,
  resultIdFor,
  type AuditEvent,
  type ExecResult,
  type OutputStream,
  type RunStart,
} from '../wire/index.js';
import { STREAMS } from '../kv/index.js';
import type { ProjectedStream, RawMessage } from './projection.js';
import { canonicalJson, iso } from './values.js';
import { RAW_EXCERPT_BYTES } from './write-errors.js';

/** A message that cannot be projected: wrong subject, or a body that does not match it. */
export class ProjectionInputError extends Error {
  override name = 'ProjectionInputError';
}

/** The 30 parameters of the result insert (write-results.ts), in column order. */
export type ResultRow = unknown[];
/** id, stream_seq, at, pc_id, request_id, exec_id, job_id, kind, reason. */
export type RunEventRow = [string, number, string, string, string, string, string, string, string | null];
/** id, stream_seq, pc_id, at, kind / source, source / job_id, JSON payload / data (write-events.ts). */
export type EventRow = unknown[];
/** The 15 parameters of the audit insert (write-audit.ts), in column order. */
export type ReceiptRow = unknown[];
/** The execution a run.start receipt announces: the 15 parameters of its upsert, and its pcs. */
export type RunStartRows = { execution: unknown[]; execId: string; pcs: string[] };

/** What one message writes. */
export type Op =
  | { k: 'result'; row: ResultRow }
  | { k: 'runEvent'; row: RunEventRow }
  | { k: 'obs'; row: EventRow }
  | { k: 'inventory'; row: EventRow }
  | { k: 'receipt'; row: ReceiptRow; start?: RunStartRows; problem?: string; raw?: Uint8Array }
  | { k: 'error'; error: string; raw: Uint8Array };

/** Indexes into a ResultRow the run row and the execution placeholder need. */
export const RESULT_COL = {
  resultId: 0,
  requestId: 2,
  execId: 3,
  pcId: 4,
  jobId: 5,
  jobVersion: 6,
  status: 7,
  exitCode: 8,
  reason: 9,
  finishedAt: 11,
  durationMs: 12,
  attempt: 28,
  retryAt: 29,
} as const;

/** Decodes every message of a batch; never throws. */
export function decodeBatch(batch: readonly RawMessage[]): Op[] {
  return batch.map(decodeStreamMessage);
}

/**
 * Decodes one message; a message that cannot be projected becomes an `error` op. Ops that will be
 * recorded as errors carry the start of the payload (a copy), the rest carry no bytes.
 */
export function decodeStreamMessage(m: RawMessage): Op {
  try {
    return decode(m);
  } catch (err) {
    return { k: 'error', error: err instanceof Error ? err.message : String(err), raw: excerpt(m.data) };
  }
}

/** The bytes of a payload an error row keeps, copied (not a view of the message's buffer). */
function excerpt(data: Uint8Array): Uint8Array {
  // new Uint8Array(view) copies; Buffer#slice (a Buffer payload) would not.
  return new Uint8Array(data.subarray(0, RAW_EXCERPT_BYTES));
}

function mismatch(subject: string, what: string): never {
  throw new ProjectionInputError(`subject '${subject}' does not match the message's ${what}`);
}

function decode(m: RawMessage): Op {
  const subject = parseSubject(m.subject);
  const stream: ProjectedStream = m.stream;
  switch (stream) {
    case STREAMS.results: {
      const r = parseExecResult(m.data);
      if (subject.kind !== 'result' || subject.pcId !== r.pcId || subject.requestId !== r.requestId) {
        mismatch(m.subject, `pcId '${r.pcId}' and requestId '${r.requestId}'`);
      }
      const expectedId = resultIdFor(r.requestId, r.pcId, r.attempt ?? 1);
      if (r.resultId !== expectedId) {
        throw new ProjectionInputError(
          `resultId '${r.resultId}' must be '${expectedId}' (requestId.pcId, then .attempt from attempt 2)`,
        );
      }
      return { k: 'result', row: resultRow(r, m.seq) };
    }
    case STREAMS.events: {
      const e = parseRunEvent(m.data);
      if (subject.kind !== 'event' || subject.pcId !== e.pcId || subject.eventKind !== e.kind) {
        mismatch(m.subject, `pcId '${e.pcId}' and kind '${e.kind}'`);
      }
      const row: RunEventRow = [
        e.id, m.seq, iso(e.at), e.pcId, e.requestId, e.execId, e.jobId, e.kind, e.reason ?? null,
      ]; // prettier-ignore
      return { k: 'runEvent', row };
    }
    case STREAMS.obsEvents: {
      const e = parseObsEvent(m.data);
      if (subject.kind !== 'obs' || subject.pcId !== e.pcId) mismatch(m.subject, `pcId '${e.pcId}'`);
      return {
        k: 'obs',
        row: [e.id, m.seq, e.pcId, iso(e.at), e.kind, e.source, canonicalJson(e.payload)],
      };
    }
    case STREAMS.inventory: {
      const i = parseInventory(m.data);
      if (subject.kind !== 'inventory' || subject.pcId !== i.pcId) mismatch(m.subject, `pcId '${i.pcId}'`);
      return {
        k: 'inventory',
        row: [i.id, m.seq, i.pcId, iso(i.at), i.source, i.jobId ?? null, canonicalJson(i.data)],
      };
    }
    case STREAMS.audit: {
      const e = parseAuditEvent(m.data);
      if (subject.kind !== 'audit' || subject.action !== e.action)
        mismatch(m.subject, `action '${e.action}'`);
      const row = receiptRow(e, m.seq);
      if (e.action !== 'run.start') return { k: 'receipt', row };
      try {
        return { k: 'receipt', row, start: runStartRows(e, parseRunStart(e.details ?? {})) };
      } catch (err) {
        // The receipt is kept; the execution it should announce is reported as an error.
        return {
          k: 'receipt',
          row,
          problem: `run.start details: ${(err as Error).message}`,
          raw: excerpt(m.data),
        };
      }
    }
    default: {
      const never: never = stream;
      throw new ProjectionInputError(`stream '${String(never)}' is not projected`);
    }
  }
}

/** The seven columns of one output stream, in table order. */
function outputColumns(o: OutputStream): unknown[] {
  return [
    o.bytes,
    o.sha256,
    o.inline?.encoding ?? null,
    o.inline?.data ?? null,
    o.object?.bucket ?? null,
    o.object?.name ?? null,
    o.dropped ?? null,
  ];
}

function resultRow(r: ExecResult, seq: number): ResultRow {
  return [
    r.resultId, seq, r.requestId, r.execId, r.pcId, r.jobId, r.jobVersion, r.status,
    r.exitCode, r.reason ?? null, iso(r.startedAt), iso(r.finishedAt), r.durationMs,
    ...outputColumns(r.stdout), ...outputColumns(r.stderr),
    r.emitted === undefined ? null : canonicalJson(r.emitted), r.attempt ?? 1, iso(r.retryAt),
  ]; // prettier-ignore
}

function receiptRow(e: AuditEvent, seq: number): ReceiptRow {
  return [
    e.id, seq, iso(e.at), e.actor.kind, e.actor.name, e.action, e.target.kind, e.target.id,
    e.revisionBefore, e.revisionAfter, e.source.via, e.source.file ?? null, e.source.gitCommit ?? null,
    e.summary, e.details === undefined ? null : canonicalJson(e.details),
  ]; // prettier-ignore
}

function runStartRows(e: AuditEvent, s: RunStart): RunStartRows {
  const t = s.trigger;
  const pcs = [...new Set(s.expectedPcs)];
  return {
    execId: s.execId,
    pcs,
    execution: [
      s.execId, s.jobId, s.jobVersion, s.jobRevision, t.kind, t.actor,
      t.kind === 'schedule' ? t.scheduleId : null, t.kind === 'schedule' ? iso(t.fireAt) : null,
      canonicalJson(s.targets), canonicalJson(s.params), JSON.stringify(s.requestIds), pcs.length,
      iso(s.deadlineAt), e.id, iso(e.at),
    ], // prettier-ignore
  };
}
