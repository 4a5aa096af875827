// The catalog's write flows shared by the CLI and the API, so both doors enforce the same rules:
// `apply` (jobs and schedules together, all or nothing, human edits and deletions refused unless
// forced, schedules' params checked against the jobs as they will be) and a person's edit of a job
// (compare-and-swap, refused when the new params newly break a schedule unless forced).
import type { NatsConnection } from '@nats-io/transport-node';
import { brokenSchedules, formatBrokenSchedule, type AuditEvent, type ParsedJob } from '../wire/index.js';
import { ArtifactStore, type ArtifactKind } from './artifact-store.js';
import { publishAudit } from './audit-log.js';
import { ConflictError } from './errors.js';
import { executeApply, planApply, type ApplyInput, type ApplyResult, type PlanItem } from './job-apply.js';
import { JobStore, type JobRecord, type WriteMeta } from './job-store.js';
import {
  checkScheduleJobs,
  executeScheduleApply,
  planScheduleApply,
  schedulesAfterApply,
  type ScheduleApplyInput,
  type ScheduleApplyResult,
  type SchedulePlanItem,
} from './schedule-apply.js';
import { ScheduleStore } from './schedule-store.js';

export type CatalogPlan = {
  jobs: PlanItem[];
  schedules: SchedulePlanItem[];
  /** Objects refused (human edit, deletion): when any, nothing may be applied. */
  refused: (PlanItem | SchedulePlanItem)[];
};

/**
 * Plans an apply of jobs and schedules. Reads only. Throws ManifestError when a schedule names
 * an unknown job or its params do not fit the job as it will be after this apply.
 */
export async function planCatalogApply(
  nc: NatsConnection,
  input: { jobs: readonly ApplyInput[]; schedules: readonly ScheduleApplyInput[] },
  opts: { force?: boolean } = {},
): Promise<CatalogPlan> {
  const store = await JobStore.open(nc);
  const scheduleStore = await ScheduleStore.open(nc);
  // A schedule may name a job applied in the same call; its params are checked against that.
  await checkScheduleJobs(
    store,
    input.schedules,
    input.jobs.map((j) => j.manifest),
  );
  // A job whose new params break a schedule (as it will be after this apply) is refused, or
  // with force reported.
  const after = await schedulesAfterApply(scheduleStore, input.schedules);
  const jobs = await planApply(store, input.jobs, { force: opts.force }, after);
  await noteMissingObjects(nc, jobs);
  const schedules = await planScheduleApply(scheduleStore, input.schedules, { force: opts.force });
  return { jobs, schedules, refused: [...jobs, ...schedules].filter((p) => p.action === 'refused') };
}

/** Sets `missingObjects` on the items whose script object or packages are not stored. */
async function noteMissingObjects(nc: NatsConnection, items: PlanItem[]): Promise<void> {
  const stores = new Map<ArtifactKind, Promise<ArtifactStore>>();
  const exists = new Map<string, Promise<boolean>>();
  const check = (kind: ArtifactKind, ref: string): Promise<boolean> => {
    const key = `${kind} ${ref}`;
    let known = exists.get(key);
    if (!known) {
      let store = stores.get(kind);
      if (!store) stores.set(kind, (store = ArtifactStore.open(nc, kind)));
      known = store.then(async (s) => (await s.info(ref)) !== null);
      exists.set(key, known);
    }
    return known;
  };
  for (const item of items) {
    if (item.action === 'refused') continue;
    const { execute } = item.job.manifest;
    const refs: [ArtifactKind, string][] = [
      ...(execute.scriptObject === undefined
        ? []
        : [['script', execute.scriptObject] as [ArtifactKind, string]]),
      ...(execute.packages ?? []).map((p): [ArtifactKind, string] => ['package', p]),
    ];
    const missing: string[] = [];
    for (const [kind, ref] of refs) if (!(await check(kind, ref))) missing.push(`${kind} ${ref}`);
    if (missing.length > 0) item.missingObjects = missing;
  }
}

/** Writes a plan with no refused objects: jobs first, so a schedule never names an unwritten job. */
export async function executeCatalogApply(
  nc: NatsConnection,
  plan: CatalogPlan,
  meta: WriteMeta,
): Promise<{ jobs: ApplyResult[]; schedules: ScheduleApplyResult[] }> {
  if (plan.refused.length > 0) throw new ConflictError(plan.refused.map((p) => p.reason).join('; '));
  const jobs = await executeApply(nc, await JobStore.open(nc), plan.jobs, meta);
  const schedules = await executeScheduleApply(nc, await ScheduleStore.open(nc), plan.schedules, meta);
  return { jobs, schedules };
}

export type JobEdit = {
  revision: number;
  revisionBefore: number | null;
  receipt: AuditEvent;
  /** Schedules whose params the saved job refuses (only possible with force, or already broken). */
  broken: string[];
};

/**
 * A person's edit (or creation) of one job, conditional on `baseRevision` (null: create, or the
 * tombstone's revision to recreate). Refuses with ConflictError when the new params newly break a
 * schedule, unless `force`; schedules that stay broken are reported in the receipt and result.
 */
export async function editJob(
  nc: NatsConnection,
  input: {
    job: ParsedJob;
    current: JobRecord | null;
    baseRevision: number | null;
    force?: boolean;
    meta: WriteMeta;
  },
): Promise<JobEdit> {
  const { job, current, meta } = input;
  const id = job.manifest.id;
  const schedules = (await (await ScheduleStore.open(nc)).list()).map((r) => r.schedule);
  const before = new Set(
    current ? brokenSchedules(current.manifest, schedules).map((b) => b.scheduleId) : [],
  );
  const brokenNow = brokenSchedules(job.manifest, schedules);
  const newly = brokenNow.filter((b) => !before.has(b.scheduleId)).map(formatBrokenSchedule);
  if (newly.length > 0 && !input.force) {
    throw new ConflictError(
      `job '${id}': the new params break ${newly.join('; ')}; nothing was changed. ` +
        'Fix the schedule first, or pass --force (API: "force": true) to save anyway',
    );
  }
  const broken = brokenNow.map(formatBrokenSchedule);
  const store = await JobStore.open(nc);
  const revision = await store.put(job.manifest, job.yaml, input.baseRevision, meta, {
    activate: current === null,
  });
  const receipt = await publishAudit(nc, {
    ...meta,
    action: current ? 'job.update' : 'job.create',
    target: { kind: 'job', id },
    revisionBefore: input.baseRevision,
    revisionAfter: revision,
    summary: `${current ? 'edited' : 'created'} job ${id} (version ${job.manifest.version})${broken.length ? `; breaks ${broken.length} schedule(s)` : ''}`,
    details: { version: job.manifest.version, ...(broken.length ? { brokenSchedules: broken } : {}) },
  });
  return { revision, revisionBefore: input.baseRevision, receipt, broken };
}
