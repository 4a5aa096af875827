/**
 * ExecResult: the outcome of one ExecRequest on one endpoint, published on
 * `results.<pc_id>.<request_id>`. Every request an agent receives ends in exactly one result,
 * skips included.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage, encodeMessageJson } from './codec.js';
import {
  KIND_TOKEN_PATTERN,
  KindToken,
  NonNegativeInt,
  TIMESTAMP_PATTERN,
  Timestamp,
  WireVersion,
  isNonNegativeInt,
  isRecord,
} from './fields.js';
import { ExecId, JobId, PcId, RequestId, WIRE_VERSION, isName, isSlug, isSubjectToken } from './ids.js';
import { InlineOutput, OutputObject, OutputStream, fastOutputStream } from './output-stream.js';

/** Final status of a run on one endpoint. */
export const ResultStatus = z.enum(['ok', 'failed', 'timeout', 'killed', 'skipped', 'error']);
export type ResultStatus = z.infer<typeof ResultStatus>;

/**
 * Reasons agents write today; `reason` is an open snake_case word so newer agents can add more.
 * - `revoked`: the job's script status is REVOKED.
 * - `version_superseded`: the request's job version is not the pinned one.
 * - `deadline_passed`: received after `deadlineAt`.
 * - `agent_restarted`: the agent crashed or rebooted while the script ran.
 * - `already_running`: overlap policy `skip` and a previous run is still going.
 * - `sha256_mismatch`: (error) a script object or package does not have the sha256 pinned in the
 *   request; nothing ran, stderr names the object, the expected and the actual sha256.
 * - `object_missing`: (error) a script object or package was removed after the request was
 *   published; nothing ran.
 * - `fetch_failed`: (error) a script object or package could not be downloaded; nothing ran.
 */
export const RESULT_REASONS = [
  'revoked',
  'version_superseded',
  'deadline_passed',
  'agent_restarted',
  'already_running',
  'sha256_mismatch',
  'object_missing',
  'fetch_failed',
] as const;
export type KnownResultReason = (typeof RESULT_REASONS)[number];

/**
 * The result id of `requestId` on `pcId`: `<requestId>.<pcId>`, and `<requestId>.<pcId>.<n>` for
 * attempt n > 1 of a job that retries (docs/manifests.md). Deterministic, so a result retried
 * from the agent's outbox keeps its id (and its `Nats-Msg-Id`), and unambiguous, because neither
 * part may contain a `.`. Attempt 1 keeps the two-part id results had before retries existed.
 */
export function resultIdFor(requestId: string, pcId: string, attempt = 1): string {
  return attempt > 1 ? `${requestId}.${pcId}.${attempt}` : `${requestId}.${pcId}`;
}

/** Most attempts of one request on one endpoint: the first run and up to 10 retries. */
export const MAX_ATTEMPTS = 11;

/**
 * What a run with `emit` produced from its stdout (docs/agents.md): `events` messages published
 * (ObsEvents, or the one Inventory snapshot), `invalid` lines (or the inventory stdout) that were
 * not valid and so not published, of which `capped` were valid events past the per-run cap.
 */
export const Emitted = z.object({
  events: NonNegativeInt,
  invalid: NonNegativeInt,
  capped: NonNegativeInt.optional(),
});
export type Emitted = z.infer<typeof Emitted>;

/** ExecResult, wire version 1. */
export const ExecResult = z.object({
  v: WireVersion,
  /** `resultIdFor(requestId, pcId)`; also the `Nats-Msg-Id`. */
  resultId: z.string().min(1),
  requestId: RequestId,
  execId: ExecId,
  pcId: PcId,
  jobId: JobId,
  jobVersion: z.string().min(1),
  status: ResultStatus,
  /** Exit code of the script; `null` when it did not exit on its own (skipped, killed, error). */
  exitCode: z.int({ error: 'must be an integer or null' }).nullable(),
  /** Why a run was skipped or errored, a snake_case word (see {@link RESULT_REASONS}). */
  reason: KindToken.optional(),
  stdout: OutputStream,
  stderr: OutputStream,
  /** When the script started; absent when it never started (skipped). */
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp,
  /** Wall time of the script in milliseconds; 0 when it never started. */
  durationMs: NonNegativeInt,
  /** Present for runs of jobs with `emit: events` or `inventory: true`. */
  emitted: Emitted.optional(),
  /**
   * Which attempt of the request on this endpoint this result reports, from 1. Absent: 1 (jobs
   * without `retry`, and results written before retries existed).
   */
  attempt: z.int().min(1).max(MAX_ATTEMPTS).optional(),
  /**
   * Set when the agent will run the request again (the job's `retry` covers this outcome and
   * attempts and time before the deadline are left): when the next attempt starts at the
   * earliest. Absent on a final result.
   */
  retryAt: Timestamp.optional(),
});
export type ExecResult = z.infer<typeof ExecResult>;
/** What a writer passes to {@link encodeExecResult}. */
export type ExecResultInput = z.input<typeof ExecResult>;

/** Reads an ExecResult (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseExecResult(json: unknown): ExecResult {
  return decodeMessage(ExecResult, 'ExecResult', json, fastExecResult);
}

/** Writes an ExecResult as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeExecResult(msg: ExecResultInput): Uint8Array {
  return encodeMessage(ExecResult, 'ExecResult', msg);
}

/** {@link encodeExecResult} as JSON text (the agent's outbox keeps the text it publishes). */
export function encodeExecResultJson(msg: ExecResultInput): string {
  return encodeMessageJson(ExecResult, 'ExecResult', msg);
}

const STATUSES: ReadonlySet<unknown> = new Set(ResultStatus.options);

/**
 * The fields {@link fastExecResult} knows, per object. When a schema gains or loses a field, the
 * fast reader turns itself off rather than drop it (its unit test fails until it is updated).
 */
export const FAST_READER_CURRENT = [
  [ExecResult, 'v resultId requestId execId pcId jobId jobVersion status exitCode reason stdout stderr startedAt finishedAt durationMs emitted attempt retryAt'],
  [OutputStream, 'bytes sha256 inline object dropped'],
  [InlineOutput, 'encoding data'],
  [OutputObject, 'bucket name'],
  [Emitted, 'events invalid capped'],
].every(([schema, fields]) => Object.keys((schema as z.ZodObject).shape).join(' ') === fields); // prettier-ignore

const isTimestamp = (v: unknown): v is string =>
  typeof v === 'string' && TIMESTAMP_PATTERN !== undefined && TIMESTAMP_PATTERN.test(v);

/**
 * The {@link ExecResult} schema written out by hand for well-formed results (a `FastReader`, see
 * codec.ts): the projector reads every result, and the zod parse cost more than writing the
 * result to SQLite (docs/projector.md, "Throughput"). Same checks, same output (known fields in
 * schema order, unknown ones dropped); `undefined` for anything it is not sure of, which the
 * schema then accepts or rejects with its precise message. test/unit/wire-fast-reader.test.ts
 * holds the two side by side.
 */
export function fastExecResult(v: unknown): ExecResult | undefined {
  if (!FAST_READER_CURRENT || !isRecord(v)) return undefined;
  const { resultId, requestId, execId, pcId, jobId, jobVersion, status, exitCode, reason } = v;
  const { startedAt, finishedAt, durationMs, emitted, attempt, retryAt } = v;
  if (
    v['v'] !== WIRE_VERSION ||
    typeof resultId !== 'string' ||
    resultId === '' ||
    !isSubjectToken(requestId) ||
    !isSubjectToken(execId) ||
    typeof pcId !== 'string' ||
    !isName(pcId) ||
    typeof jobId !== 'string' ||
    !isSlug(jobId) ||
    typeof jobVersion !== 'string' ||
    jobVersion === '' ||
    !STATUSES.has(status) ||
    !(exitCode === null || Number.isSafeInteger(exitCode)) ||
    !(reason === undefined || (typeof reason === 'string' && KIND_TOKEN_PATTERN.test(reason))) ||
    !(startedAt === undefined || isTimestamp(startedAt)) ||
    !isTimestamp(finishedAt) ||
    !isNonNegativeInt(durationMs) ||
    !(
      attempt === undefined ||
      (Number.isSafeInteger(attempt) && (attempt as number) >= 1 && (attempt as number) <= MAX_ATTEMPTS)
    ) ||
    !(retryAt === undefined || isTimestamp(retryAt))
  ) {
    return undefined;
  }
  let emittedOut: Emitted | undefined;
  if (emitted !== undefined) {
    if (!isRecord(emitted)) return undefined;
    const { events, invalid, capped } = emitted;
    if (!isNonNegativeInt(events) || !isNonNegativeInt(invalid)) return undefined;
    if (capped !== undefined && !isNonNegativeInt(capped)) return undefined;
    emittedOut = capped === undefined ? { events, invalid } : { events, invalid, capped };
  }
  const stdout = fastOutputStream(v['stdout']);
  if (stdout === undefined) return undefined;
  const stderr = fastOutputStream(v['stderr']);
  if (stderr === undefined) return undefined;
  // Checked above; built in the schema's field order, optional fields only when present.
  const out: Record<string, unknown> = {
    v: WIRE_VERSION,
    resultId,
    requestId,
    execId,
    pcId,
    jobId,
    jobVersion,
  };
  out['status'] = status;
  out['exitCode'] = exitCode;
  if (reason !== undefined) out['reason'] = reason;
  out['stdout'] = stdout;
  out['stderr'] = stderr;
  if (startedAt !== undefined) out['startedAt'] = startedAt;
  out['finishedAt'] = finishedAt;
  out['durationMs'] = durationMs;
  if (emittedOut !== undefined) out['emitted'] = emittedOut;
  if (attempt !== undefined) out['attempt'] = attempt;
  if (retryAt !== undefined) out['retryAt'] = retryAt;
  return out as ExecResult;
}
