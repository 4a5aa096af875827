// `apply` of schedules: the same plan/execute steps as jobs (planObject in job-apply.ts), plus
// the check that every schedule names a job that exists (or is applied in the same call) and
// that its `params` validate against that job's declarations.
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ManifestError,
  suggest,
  validateParams,
  type JobManifest,
  type ManifestIssue,
  type ParsedSchedule,
  type Schedule,
} from '../wire/index.js';
import { publishAudit } from './audit-log.js';
import { planObject, type ApplyOptions, type PlanCore } from './job-apply.js';
import type { JobStore, WriteMeta } from './job-store.js';
import type { ScheduleStore } from './schedule-store.js';

export type ScheduleApplyInput = ParsedSchedule & { gitCommit?: string };
export type SchedulePlanItem = PlanCore & { id: string; schedule: ScheduleApplyInput };
export type ScheduleApplyResult = SchedulePlanItem & { revision: number | null; receiptId: string | null };

/**
 * Throws a located ManifestError for every schedule whose `job` is neither in the catalog nor
 * among `alsoJobs` (jobs applied in the same call), with "did you mean", and for every parameter
 * value the job refuses (unknown name, wrong type, out of range, missing required value).
 * `alsoJobs` given as manifests are checked against their new declarations; given as bare ids
 * (older callers), the catalog's version of the job is used when there is one.
 */
export async function checkScheduleJobs(
  jobs: JobStore,
  schedules: readonly ScheduleApplyInput[],
  alsoJobs: readonly (string | JobManifest)[] = [],
): Promise<void> {
  const manifests = new Map<string, JobManifest | null>();
  for (const j of await jobs.list()) manifests.set(j.id, j.manifest);
  for (const j of alsoJobs) {
    if (typeof j !== 'string') manifests.set(j.id, j);
    else if (!manifests.has(j)) manifests.set(j, null);
  }
  const issues: ManifestIssue[] = [];
  for (const s of schedules) {
    const id = s.schedule.job;
    const job = manifests.get(id);
    if (job !== undefined) {
      if (job !== null) issues.push(...paramIssues(s, job));
      continue;
    }
    const hint = suggest(id, [...manifests.keys()]);
    issues.push({
      file: s.file,
      line: s.lineAt(['job']),
      path: 'job',
      message:
        `unknown job '${id}'` +
        (hint ? `; did you mean '${hint}'?` : '; apply the job first (`baton jobs ls` lists them)'),
    });
  }
  if (issues.length > 0)
    throw new ManifestError(issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line));
}

/** Located issues of a schedule's `params` against its job (`params.<name>: ...`). */
function paramIssues(s: ScheduleApplyInput, job: JobManifest): ManifestIssue[] {
  const r = validateParams(job.params, s.schedule.params);
  if (r.ok) return [];
  return r.problems.map((p) => ({
    file: s.file,
    // A missing required value has no line of its own: point at `params:` (or the document).
    line: s.lineAt(p.value === undefined ? ['params'] : ['params', p.param]),
    path: `params.${p.param}`,
    message: `${p.message} (job '${job.id}')`,
  }));
}

/**
 * The schedules as they will be after an apply: the stored ones, replaced by those applied in the
 * same call. What `planApply` checks a job's new params against.
 */
export async function schedulesAfterApply(
  store: ScheduleStore,
  applied: readonly ScheduleApplyInput[],
): Promise<Schedule[]> {
  const byId = new Map<string, Schedule>((await store.list()).map((r) => [r.id, r.schedule]));
  for (const s of applied) byId.set(s.schedule.id, s.schedule);
  return [...byId.values()];
}

/** What applying these schedules would do. Reads only. */
export async function planScheduleApply(
  store: ScheduleStore,
  schedules: readonly ScheduleApplyInput[],
  opts: ApplyOptions = {},
): Promise<SchedulePlanItem[]> {
  const out: SchedulePlanItem[] = [];
  for (const s of schedules) {
    const id = s.schedule.id;
    const current = await store.get(id);
    const tomb = current ? null : await store.deleted(id);
    const core = planObject(
      'schedule',
      id,
      { value: s.schedule, yaml: s.yaml },
      current && {
        value: current.schedule,
        yaml: current.yaml,
        written: current.written,
        revision: current.revision,
      },
      tomb,
      opts,
    );
    out.push({ id, schedule: s, ...core });
  }
  return out;
}

/** Writes the creates and updates of a plan (CAS on the planned revision), each with a receipt. */
export async function executeScheduleApply(
  nc: NatsConnection,
  store: ScheduleStore,
  plan: readonly SchedulePlanItem[],
  meta: WriteMeta,
): Promise<ScheduleApplyResult[]> {
  const out: ScheduleApplyResult[] = [];
  for (const item of plan) {
    if (item.action !== 'create' && item.action !== 'update') {
      out.push({ ...item, revision: item.baseRevision, receiptId: null });
      continue;
    }
    const { gitCommit, file, schedule: s } = item.schedule;
    const source = { ...meta.source, file, ...(gitCommit ? { gitCommit } : {}) };
    const revision = await store.put(s, item.schedule.yaml, item.baseRevision, { ...meta, source });
    const receipt = await publishAudit(nc, {
      actor: meta.actor,
      action: item.action === 'create' ? 'schedule.create' : 'schedule.update',
      target: { kind: 'schedule', id: item.id },
      revisionBefore: item.baseRevision,
      revisionAfter: revision,
      source,
      summary: (item.action === 'create'
        ? `created schedule ${item.id}: job ${s.job} at '${s.cron}' ${s.timezone}${s.enabled ? '' : ' (disabled)'}`
        : `updated schedule ${item.id} (${item.changes.join(', ')})`
      ).slice(0, 300),
      details: { job: s.job, cron: s.cron, timezone: s.timezone, enabled: s.enabled, changes: item.changes },
    });
    out.push({ ...item, revision, receiptId: receipt.id });
  }
  return out;
}
