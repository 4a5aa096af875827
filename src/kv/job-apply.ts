// `apply` of job manifests in two steps: plan (read-only, what would change and what is refused)
// and execute (compare-and-swap writes with a receipt each). Dry-run is the plan alone.
import type { NatsConnection } from '@nats-io/transport-node';
import {
  brokenSchedules,
  formatBrokenSchedule,
  type BrokenSchedule,
  type JobManifest,
  type ParsedJob,
  type Schedule,
} from '../wire/index.js';
import { publishAudit } from './audit-log.js';
import { isHumanEdit, type JobRecord, type JobStore, type WriteMeta, type WriteStamp } from './job-store.js';

/** A parsed job with the commit its file came from (when the file is in a git repository). */
export type ApplyInput = ParsedJob & { gitCommit?: string };

export type PlanAction = 'create' | 'update' | 'unchanged' | 'refused';

export type PlanItem = {
  id: string;
  action: PlanAction;
  job: ApplyInput;
  /** The `jobs` revision the write will be conditional on (null: create). */
  baseRevision: number | null;
  /** Manifest fields that change (`execute.script`, `version`), or `yaml (formatting/comments)`. */
  changes: string[];
  /** Why the object is refused, naming the revision, author and time. */
  reason?: string;
  /** The job is revoked; apply updates it but leaves it revoked. */
  revoked?: boolean;
  /**
   * Schedules whose `params` the new declarations refuse. Without `force` the item is refused;
   * with it the write goes ahead and these are reported (CLI output, the receipt's details).
   */
  brokenSchedules?: BrokenSchedule[];
  /**
   * Script objects and packages the job names that are not stored (yet), as `script <ref>` /
   * `package <ref>`. A warning, not a refusal: objects may be put after the manifest; until then
   * starting a run of the job fails before anything is published.
   */
  missingObjects?: string[];
};

export type ApplyOptions = { force?: boolean };

/** Dotted paths of the leaves that differ between two JSON values. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) =>
      changedPaths(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        prefix ? `${prefix}.${k}` : k,
      ),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

/** What the plan of one object of any kind decided; the kind-specific item adds its input. */
export type PlanCore = {
  action: PlanAction;
  baseRevision: number | null;
  changes: string[];
  reason?: string;
};

/** The stored object a plan compares against: its value, YAML, stamp and revision. */
export type PlanCurrent = { value: unknown; yaml: string | null; written: WriteStamp; revision: number };

/**
 * The plan of one object, shared by every kind that `apply` writes (jobs, schedules): create,
 * update (with the changed fields), unchanged, or refused (a human edit or a deletion since the
 * last apply, unless `force`).
 */
export function planObject(
  kind: string,
  id: string,
  next: { value: unknown; yaml: string },
  current: PlanCurrent | null,
  tomb: { revision: number; deletedAt: string } | null,
  opts: ApplyOptions,
): PlanCore {
  if (!current) {
    if (tomb && !opts.force) {
      return {
        action: 'refused', baseRevision: tomb.revision, changes: [],
        reason: `${kind} '${id}' was deleted at revision ${tomb.revision} (${tomb.deletedAt}); pass --force to recreate it`,
      }; // prettier-ignore
    }
    return { action: 'create', baseRevision: tomb?.revision ?? null, changes: [] };
  }
  const changes = changedPaths(current.value, next.value);
  if (current.yaml !== next.yaml && changes.length === 0) changes.push('yaml (formatting or comments)');
  if (changes.length === 0) return { action: 'unchanged', baseRevision: current.revision, changes };
  if (isHumanEdit(current.written) && !opts.force) {
    const w = current.written;
    return {
      action: 'refused', baseRevision: current.revision, changes,
      reason: `${kind} '${id}' revision ${current.revision} was edited by ${w.actor.name} via ${w.via} at ${w.at} since the last apply; pass --force to overwrite it`,
    }; // prettier-ignore
  }
  return { action: 'update', baseRevision: current.revision, changes };
}

function planOne(
  job: ApplyInput,
  current: JobRecord | null,
  tomb: { revision: number; deletedAt: string } | null,
  opts: ApplyOptions,
): PlanItem {
  const id = job.manifest.id;
  const core = planObject(
    'job',
    id,
    { value: job.manifest, yaml: job.yaml },
    current && {
      value: current.manifest,
      yaml: current.yaml,
      written: current.written,
      revision: current.revision,
    },
    tomb,
    opts,
  );
  return { id, job, ...core, ...(current ? { revoked: current.status === 'REVOKED' } : {}) };
}

/**
 * What an apply would do, object by object. Reads only. `schedules`: the schedules as they will
 * be after the apply (stored ones, replaced by those applied in the same call); a create or
 * update whose parameter declarations refuse the values of one of them is refused, naming the
 * schedule, the parameter and why, unless `force` (then it is planned with `brokenSchedules`).
 */
export async function planApply(
  store: JobStore,
  jobs: readonly ApplyInput[],
  opts: ApplyOptions = {},
  schedules: readonly Schedule[] = [],
): Promise<PlanItem[]> {
  const out: PlanItem[] = [];
  for (const job of jobs) {
    const current = await store.get(job.manifest.id);
    const tomb = current ? null : await store.deleted(job.manifest.id);
    out.push(
      withScheduleCheck(planOne(job, current, tomb, opts), current?.manifest ?? null, schedules, opts),
    );
  }
  return out;
}

/**
 * Refuses a create/update that newly breaks a schedule (its values validated against the current
 * declarations, not against the new ones). Schedules already broken before (by an earlier forced
 * change) are reported but do not block unrelated edits of the job, so --force does not become a
 * habit.
 */
function withScheduleCheck(
  item: PlanItem,
  current: JobManifest | null,
  schedules: readonly Schedule[],
  opts: ApplyOptions,
): PlanItem {
  if (item.action !== 'create' && item.action !== 'update') return item;
  const broken = brokenSchedules(item.job.manifest, schedules);
  if (broken.length === 0) return item;
  const before = new Set(current ? brokenSchedules(current, schedules).map((b) => b.scheduleId) : []);
  const newly = broken.filter((b) => !before.has(b.scheduleId));
  if (newly.length === 0 || opts.force) return { ...item, brokenSchedules: broken };
  return {
    ...item,
    action: 'refused',
    brokenSchedules: newly,
    reason:
      `job '${item.id}': the new params break ${newly.map(formatBrokenSchedule).join('; ')}; ` +
      'fix the schedule (in the same apply) or pass --force to apply anyway',
  };
}

export type ApplyResult = PlanItem & { revision: number | null; receiptId: string | null };

/**
 * Writes the `create` and `update` items of a plan, each conditional on the revision the plan
 * read, each with a receipt (`job.create` / `job.update`). Refused and unchanged items are
 * returned as they are. A concurrent write between plan and execute surfaces as ConflictError.
 */
export async function executeApply(
  nc: NatsConnection,
  store: JobStore,
  plan: readonly PlanItem[],
  meta: WriteMeta,
): Promise<ApplyResult[]> {
  const out: ApplyResult[] = [];
  for (const item of plan) {
    if (item.action !== 'create' && item.action !== 'update') {
      out.push({ ...item, revision: item.baseRevision, receiptId: null });
      continue;
    }
    const { gitCommit } = item.job;
    const source = { ...meta.source, file: item.job.file, ...(gitCommit ? { gitCommit } : {}) };
    const revision = await store.put(
      item.job.manifest,
      item.job.yaml,
      item.baseRevision,
      { ...meta, source },
      {
        activate: item.action === 'create',
      },
    );
    const m = item.job.manifest;
    const receipt = await publishAudit(nc, {
      actor: meta.actor,
      action: item.action === 'create' ? 'job.create' : 'job.update',
      target: { kind: 'job', id: item.id },
      revisionBefore: item.baseRevision,
      revisionAfter: revision,
      source,
      summary:
        item.action === 'create'
          ? `created job ${item.id} version ${m.version}`
          : `updated job ${item.id} to version ${m.version} (${item.changes.join(', ')})`.slice(0, 300),
      details: {
        version: m.version,
        changes: item.changes,
        ...(item.brokenSchedules?.length ? { brokenSchedules: brokenDetails(item.brokenSchedules) } : {}),
      },
    });
    out.push({ ...item, revision, receiptId: receipt.id });
  }
  return out;
}

/** The `brokenSchedules` detail of a receipt: which schedule, which parameter, why. */
function brokenDetails(broken: readonly BrokenSchedule[]): { schedule: string; problems: string[] }[] {
  return broken.map((b) => ({
    schedule: b.scheduleId,
    problems: b.problems.map((p) => `${p.param}: ${p.message}`),
  }));
}
