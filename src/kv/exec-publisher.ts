// Starting an execution: the one path shared by `baton run`, the API and the scheduler. It
// resolves the targets to the endpoints expected to answer, publishes the `run.start` receipt
// (which carries them, see wire/run-start.ts), then one ExecRequest per target subject, each with
// `Nats-Msg-Id` = its request id, so a retried or replicated publish lands once. Parameter
// values are validated against the job first (ParamsError: nothing is published), and a script
// object or package the job names is resolved to the sha256 it has now, which every request
// pins (MissingObjectError: nothing is published).
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import {
  encodeExecRequest,
  execSubject,
  formatTarget,
  newId,
  RESERVED_JOB_ID,
  requireValidParams,
  type AuditActor,
  type AuditEvent,
  type AuditSource,
  type ExecRequestInput,
  type ExecTarget,
  type RunStartInput,
  type Trigger,
} from '../wire/index.js';
import { AgentDirectory } from './agent-directory.js';
import { pinJobObjects } from './artifact-store.js';
import { publishAudit } from './audit-log.js';
import { ConflictError } from './errors.js';
import type { JobRecord } from './job-store.js';

/** Default time an ad-hoc request stays valid for agents that are offline: 1 hour. */
export const DEFAULT_ADHOC_DEADLINE_MS = 60 * 60 * 1000;

export type StartExecution = {
  job: JobRecord;
  targets: ExecTarget[];
  trigger: Trigger;
  actor: AuditActor;
  source: AuditSource;
  /** Agents skip the requests after now (or `trigger.fireAt`) + this. Default 1 h. */
  deadlineMs?: number;
  /** Each agent waits a random 0..jitterMs before starting. Default 0. */
  jitterMs?: number;
  /** Default `allow` for ad-hoc runs; schedules pass their own policy. */
  overlap?: 'skip' | 'allow' | 'cancel_previous';
  /**
   * Parameter values as given (strings), validated against the job's declarations before
   * anything is published; defaults are filled in. Default `{}`.
   */
  params?: Record<string, string>;
  /** Deterministic id (the scheduler derives it from schedule id + fire time). Default: a new id. */
  execId?: string;
  now?: Date;
};

export type StartedExecution = {
  execId: string;
  requestIds: string[];
  expectedPcs: string[];
  deadlineAt: string;
  /** The validated parameter values the requests carry (defaults filled in). */
  params: Record<string, string>;
  receipt: AuditEvent;
};

export async function startExecution(nc: NatsConnection, input: StartExecution): Promise<StartedExecution> {
  const { job } = input;
  if (job.status === 'REVOKED') {
    throw new ConflictError(`job '${job.id}' is revoked; \`baton unrevoke ${job.id}\` first`);
  }
  if (input.targets.length === 0) throw new RangeError('an execution needs at least one target');
  // Before anything is published: a ParamsError leaves no receipt and no request behind.
  const params = requireValidParams(job.id, job.manifest.params, input.params ?? {});
  const pinned = await pinJobObjects(nc, job.manifest.execute);
  const now = input.now ?? new Date();
  const execId = input.execId ?? newId(now.getTime());
  const base = input.trigger.kind === 'schedule' ? new Date(input.trigger.fireAt) : now;
  const deadlineAt = new Date(base.getTime() + (input.deadlineMs ?? DEFAULT_ADHOC_DEADLINE_MS)).toISOString();
  const requestIds = input.targets.map((_, i) => `${execId}-${i}`);
  const expectedPcs = await (await AgentDirectory.open(nc)).resolve(input.targets);
  const m = job.manifest;

  const details: RunStartInput = {
    execId,
    jobId: job.id,
    jobVersion: m.version,
    jobRevision: job.revision,
    targets: input.targets,
    expectedPcs,
    requestIds,
    deadlineAt,
    trigger: input.trigger,
    params,
    ...(pinned.script.kind === 'object'
      ? { scriptObject: { object: pinned.script.object, sha256: pinned.script.sha256 } }
      : {}),
    ...(pinned.packages ? { packages: pinned.packages } : {}),
  };
  const receipt = await publishAudit(
    nc,
    {
      id: `run.start-${execId}`,
      actor: input.actor,
      action: 'run.start',
      target: { kind: 'exec', id: execId },
      revisionBefore: null,
      revisionAfter: null,
      source: input.source,
      summary: `started ${job.id} ${m.version} on ${input.targets.map(formatTarget).join(', ')} (${expectedPcs.length} expected)`,
      details,
    },
    now,
  );

  const js = jetstream(nc);
  for (const [i, target] of input.targets.entries()) {
    const request: ExecRequestInput = {
      v: 1,
      requestId: requestIds[i]!,
      execId,
      jobId: job.id,
      jobVersion: m.version,
      jobRevision: job.revision,
      trigger: input.trigger,
      script: pinned.script,
      timeoutMs: m.execute.timeoutMs,
      jitterMs: input.jitterMs ?? 0,
      deadlineAt,
      runAs: m.execute.runAs,
      ...(m.execute.cwd === undefined ? {} : { cwd: m.execute.cwd }),
      env: m.execute.env,
      ...(Object.keys(params).length > 0 ? { params } : {}),
      target,
      createdAt: now.toISOString(),
      overlap: input.overlap ?? 'allow',
      ...(m.emit === 'events' ? { emit: 'events' as const } : {}),
      ...(m.inventory === true ? { emit: 'inventory' as const } : {}),
      ...(pinned.packages ? { packages: pinned.packages } : {}),
      ...(m.retry === undefined ? {} : { retry: m.retry }),
    };
    await js.publish(execSubject(target), encodeExecRequest(request), { msgID: request.requestId });
  }
  return { execId, requestIds, expectedPcs, deadlineAt, params, receipt };
}

/**
 * The job record of an inline `baton exec` script: not stored in the catalog; its id is the one
 * manifests may not use, and agents skip the pin and revocation checks for it.
 */
export function execScriptJob(shell: Shell, script: string, timeoutMs: number, actorName: string): JobRecord {
  const now = new Date().toISOString();
  return {
    id: RESERVED_JOB_ID,
    manifest: {
      kind: 'job',
      id: RESERVED_JOB_ID,
      version: 'adhoc',
      tags: [],
      execute: { shell, script, timeoutMs, env: {}, runAs: 'system' },
    },
    written: { actor: { kind: 'user', name: actorName }, via: 'cli', at: now },
    revision: 1,
    storedAt: now,
    yaml: null,
    status: 'ACTIVE',
    statusRevision: null,
    pinnedVersion: null,
  };
}

type Shell = JobRecord['manifest']['execute']['shell'];
