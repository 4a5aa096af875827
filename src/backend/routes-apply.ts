// Validate (no writes) and apply (multi-document YAML, the same plan/execute as `baton apply`).
// An apply through the API is recorded with `via: 'apply'`: it is automation replaying files,
// so it refuses to overwrite human edits (including edits made with PUT /api/jobs/:id) unless
// `force`.
import { z } from 'zod';
import { ManifestError } from '../wire/index.js';
import {
  JobStore,
  checkScheduleJobs,
  executeCatalogApply,
  planCatalogApply,
  type PlanItem,
  type SchedulePlanItem,
} from '../kv/index.js';
import { api, type BackendDeps } from './deps.js';
import { HttpError, badRequest, type Route } from './http.js';
import { invalidManifest, parseAll } from './manifests.js';

const File = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[^\n]+$/, { error: 'must be one line' });

const Validate = z.strictObject({
  yaml: z.string(),
  /** Name used in issues and receipts. Default `api`. */
  file: File.default('api'),
});

const Apply = Validate.extend({ dryRun: z.boolean().default(false), force: z.boolean().default(false) });

type Row = { kind: 'job' | 'schedule'; id: string; action: string; file: string; revisionBefore: number | null; revision: number | null; changes: string[]; revoked: boolean; reason: string | null; receiptId: string | null; missingObjects?: string[] }; // prettier-ignore

const jobRow = (p: PlanItem & { revision?: number | null; receiptId?: string | null }): Row => ({
  kind: 'job', id: p.id, action: p.action, file: `${p.job.file}:${p.job.line}`, revisionBefore: p.baseRevision,
  revision: p.revision ?? null, changes: p.changes, revoked: p.revoked ?? false, reason: p.reason ?? null, receiptId: p.receiptId ?? null,
  ...(p.missingObjects?.length ? { missingObjects: p.missingObjects } : {}),
}); // prettier-ignore
const scheduleRow = (p: SchedulePlanItem & { revision?: number | null; receiptId?: string | null }): Row => ({
  kind: 'schedule', id: p.id, action: p.action, file: `${p.schedule.file}:${p.schedule.line}`, revisionBefore: p.baseRevision,
  revision: p.revision ?? null, changes: p.changes, revoked: false, reason: p.reason ?? null, receiptId: p.receiptId ?? null,
}); // prettier-ignore

async function checkJobs(store: JobStore, parsed: ReturnType<typeof parseAll>) {
  try {
    await checkScheduleJobs(
      store,
      parsed.schedules,
      parsed.jobs.map((j) => j.manifest),
    );
  } catch (err) {
    if (err instanceof ManifestError) throw invalidManifest(err);
    throw err;
  }
}

export const applyRoutes: Route<BackendDeps>[] = [
  api({
    method: 'POST', path: '/api/validate', role: 'viewer', tag: 'catalog', body: Validate,
    summary: 'check YAML (jobs and schedules) without writing; ok:false with located issues',
    async handle({ body, deps }) {
      try {
        const parsed = parseAll(body.yaml, body.file);
        await checkJobs(await JobStore.open(deps.nc), parsed);
        return {
          ok: true, issues: [],
          objects: [...parsed.jobs.map((j) => ({ kind: 'job', id: j.manifest.id, line: j.line })), ...parsed.schedules.map((s) => ({ kind: 'schedule', id: s.schedule.id, line: s.line }))],
        };
      } catch (err) {
        if (err instanceof HttpError && err.status === 400) return { ok: false, issues: err.extra['issues'] ?? [], objects: [] };
        throw err;
      }
    },
  }),
  api({
    method: 'POST', path: '/api/apply', role: 'operator', tag: 'catalog', body: Apply,
    summary: 'apply YAML like `baton apply`: all or nothing; 400 with issues, 409 when an object is refused',
    async handle({ body, deps, caller }) {
      const parsed = parseAll(body.yaml, body.file);
      if (parsed.jobs.length === 0 && parsed.schedules.length === 0)
        throw badRequest(`${body.file}: no job or schedule documents found`, { issues: [{ file: body.file, line: 1, path: '', message: 'no job or schedule documents found' }] });
      let plan;
      try {
        // The same plan as `baton apply` (src/kv/catalog-writes.ts): schedules checked against the
        // jobs as they will be, jobs that newly break a schedule refused unless force.
        plan = await planCatalogApply(deps.nc, { jobs: parsed.jobs, schedules: parsed.schedules }, { force: body.force });
      } catch (err) {
        if (err instanceof ManifestError) throw invalidManifest(err);
        throw err;
      }
      const planned = [...plan.jobs.map(jobRow), ...plan.schedules.map(scheduleRow)];
      const refused = planned.filter((r) => r.action === 'refused');
      if (refused.length > 0)
        throw new HttpError(409, 'conflict', refused.map((r) => r.reason).join('; '), { dryRun: body.dryRun, applied: false, objects: planned });
      if (body.dryRun) return { dryRun: true, applied: false, objects: planned };
      const meta = { actor: { kind: 'user' as const, name: caller.user }, source: { via: 'apply' as const } };
      const results = await executeCatalogApply(deps.nc, plan, meta);
      return { dryRun: false, applied: true, objects: [...results.jobs.map(jobRow), ...results.schedules.map(scheduleRow)] };
    },
  }),
]; // prettier-ignore
