/**
 * ExecRequest: one request to run one version of a job on a target, published on `EXEC`.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import { ExecTarget } from './exec-target.js';
import { NonNegativeInt, Revision, Sha256Hex, Timestamp, WireVersion, oneLine } from './fields.js';
import { ExecId, JobId, RequestId, ScheduleId } from './ids.js';
import { MAX_JOB_PACKAGES, PackagePin } from './object-ref.js';
import { ParamValues } from './params.js';

/** Shells an agent knows how to run a script with. */
export const Shell = z.enum(['sh', 'bash', 'pwsh', 'powershell', 'cmd']);
export type Shell = z.infer<typeof Shell>;

/** Who may run a script: the agent's service account, or the logged-on user. */
export const RunAs = z.enum(['system', 'user']);
export type RunAs = z.infer<typeof RunAs>;

/** What to do when a previous run of the same job is still running on the endpoint. */
export const Overlap = z.enum(['skip', 'allow', 'cancel_previous']);
export type Overlap = z.infer<typeof Overlap>;

/**
 * What the agent makes of a run's stdout besides the result: `events` (each JSON line with a
 * `kind` becomes an ObsEvent) or `inventory` (stdout is one JSON object, an Inventory snapshot).
 */
export const EmitMode = z.enum(['events', 'inventory']);
export type EmitMode = z.infer<typeof EmitMode>;

/** Outcomes a job may retry (docs/manifests.md): `agent_restarted` is an `error` with that reason. */
export const RetryOn = z.enum(['agent_restarted', 'failed', 'timeout']);
export type RetryOn = z.infer<typeof RetryOn>;

/** A job's retry policy as carried in each request (from the manifest's `retry`). */
export const RetryPolicy = z.object({
  /** Further attempts after the first, 1..10. */
  max: z.int().min(1).max(10),
  /** Wait before the first retry; doubled for each further one (capped at 1 h). */
  backoffMs: z.int().min(1_000).max(3_600_000),
  /** Outcomes that are retried. */
  on: z.array(RetryOn).min(1),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** Why the request exists: an operator's ad-hoc run, or a schedule firing at `fireAt`. */
export const Trigger = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('adhoc'), actor: oneLine(200) }),
  z.object({
    kind: z.literal('schedule'),
    actor: oneLine(200),
    scheduleId: ScheduleId,
    fireAt: Timestamp,
    /** KV revision of the schedule that fired. Optional for readers of older requests. */
    scheduleRevision: Revision.optional(),
  }),
]);
export type Trigger = z.infer<typeof Trigger>;

/**
 * The script body: inline in the request, or an object in the `scripts` store (`object` is its
 * `<name>/<version>`) pinned by the sha256 it had when the request was published; the agent
 * runs it only when the bytes it fetched have that sha256.
 */
export const ScriptRef = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('inline'), shell: Shell, body: z.string() }),
  z.object({ kind: z.literal('object'), shell: Shell, object: z.string().min(1), sha256: Sha256Hex }),
]);
export type ScriptRef = z.infer<typeof ScriptRef>;

// Windows and POSIX both forbid '=' in a variable name; NUL cannot be passed at all.
const EnvName = z.string().regex(/^[^=\0]+$/, { error: "must be a non-empty name without '=' or NUL" });

/**
 * The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days): a larger timeout or jitter
 * would fire at once, so a request carrying one is refused as malformed instead of misbehaving.
 */
export const MAX_TIMER_MS = 2_147_483_647;
const TIMER_LIMIT = 'must be at most 2147483647 ms (about 24.8 days)';

/** ExecRequest, wire version 1. */
export const ExecRequest = z.object({
  v: WireVersion,
  /** Unique per published request; also its `Nats-Msg-Id`. */
  requestId: RequestId,
  /** One per fire or ad-hoc run; shared by the requests of that run. */
  execId: ExecId,
  jobId: JobId,
  /** The manifest version the script belongs to; agents skip it unless it is the pinned one. */
  jobVersion: z.string().min(1),
  /** KV revision of the manifest in `jobs` that this request was built from. */
  jobRevision: Revision,
  trigger: Trigger,
  script: ScriptRef,
  /** Kill the process tree after this many milliseconds (at most MAX_TIMER_MS). */
  timeoutMs: z
    .int({ error: 'must be a positive integer (ms)' })
    .positive({ error: 'must be a positive integer (ms)' })
    .max(MAX_TIMER_MS, { error: TIMER_LIMIT }),
  /** Each agent waits a random 0..jitterMs before starting (at most MAX_TIMER_MS). Default 0. */
  jitterMs: NonNegativeInt.max(MAX_TIMER_MS, { error: TIMER_LIMIT }).default(0),
  /** After this time an agent must skip the request (`reason: 'deadline_passed'`). */
  deadlineAt: Timestamp,
  runAs: RunAs,
  /** Working directory; default: the agent's per-job work directory. */
  cwd: z.string().min(1).optional(),
  /** Extra environment variables. Default `{}`. */
  env: z.record(EnvName, z.string()).default({}),
  /** Job parameters chosen for this run, exposed to the script. Default: none. */
  params: ParamValues.optional(),
  /** The subject-level target this request was published to (see `execSubject`). */
  target: ExecTarget,
  createdAt: Timestamp,
  /** Overlap policy of the job; default (absent): `skip`. */
  overlap: Overlap.optional(),
  /** From the job's `emit: events` / `inventory: true`; absent: stdout is only output. */
  emit: EmitMode.optional(),
  /**
   * App packages the agent downloads (verified against their pinned sha256) before the script
   * runs; their paths reach the script as `BATON_PACKAGE_<NAME>`. Absent: none.
   */
  packages: z.array(PackagePin).max(MAX_JOB_PACKAGES).optional(),
  /** The job's retry policy; absent: a run is never repeated (an interruption is reported). */
  retry: RetryPolicy.optional(),
});
export type ExecRequest = z.infer<typeof ExecRequest>;
/** What a writer passes to {@link encodeExecRequest}: defaults may be left out. */
export type ExecRequestInput = z.input<typeof ExecRequest>;

/** Reads an ExecRequest (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseExecRequest(json: unknown): ExecRequest {
  return decodeMessage(ExecRequest, 'ExecRequest', json);
}

/** Writes an ExecRequest as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeExecRequest(msg: ExecRequestInput): Uint8Array {
  return encodeMessage(ExecRequest, 'ExecRequest', msg);
}
