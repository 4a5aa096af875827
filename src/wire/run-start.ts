/**
 * RunStart: the `details` of a `run.start` receipt (AUDIT, `audit.run.start`). Whoever starts an
 * execution (an ad-hoc `baton run`, the scheduler on a fire) publishes it once per execution,
 * before the requests. It is how the read model learns an execution exists and which endpoints
 * it expects answers from (an `exec.all` request does not list them), so that endpoints that
 * never answer become `expired` after the deadline rather than silently missing.
 */
import { z } from 'zod';

import { decodeMessage } from './codec.js';
import { ExecTarget } from './exec-target.js';
import { Trigger } from './exec-request.js';
import { Revision, Sha256Hex, StringRecord, Timestamp } from './fields.js';
import { ExecId, JobId, PcId, RequestId } from './ids.js';
import { PackagePin } from './object-ref.js';

export const RunStart = z.object({
  execId: ExecId,
  jobId: JobId,
  jobVersion: z.string().min(1),
  /** KV revision of the job manifest the requests carry. */
  jobRevision: Revision,
  /** The targets as the operator or schedule named them. */
  targets: z.array(ExecTarget).min(1),
  /** The endpoints the targets resolved to when the execution started (known agents). */
  expectedPcs: z.array(PcId),
  /** One request per target subject, in `targets` order. */
  requestIds: z.array(RequestId).min(1),
  deadlineAt: Timestamp,
  trigger: Trigger,
  /** Parameter values of this execution. Default `{}`. */
  params: StringRecord.default({}),
  /** The script object the requests run, with the sha256 they pin. Absent: an inline script. */
  scriptObject: z.object({ object: z.string().min(1), sha256: Sha256Hex }).optional(),
  /** The app packages the requests fetch, each pinned. Absent: none. */
  packages: z.array(PackagePin).optional(),
});
export type RunStart = z.infer<typeof RunStart>;
export type RunStartInput = z.input<typeof RunStart>;

/** Reads the details of a `run.start` receipt; throws WireError naming the bad field. */
export function parseRunStart(json: unknown): RunStart {
  return decodeMessage(RunStart, 'RunStart', json);
}
