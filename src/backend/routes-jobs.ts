// The job catalog: list, read, edit (compare-and-swap, a human edit), delete, revoke, history.
import { z } from 'zod';
import { JobId } from '../wire/index.js';
import { JobStore, editJob, jobSummary, publishAudit, type JobRecord } from '../kv/index.js';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { HttpError, Reply, queryInt, type Route } from './http.js';
import { EditBody, parseOne } from './manifests.js';
import type { ReadModel } from './read-model.js';

const jobDetail = (j: JobRecord) => ({
  id: j.id,
  manifest: j.manifest,
  yaml: j.yaml,
  revision: j.revision,
  storedAt: j.storedAt,
  status: j.status,
  statusRevision: j.statusRevision,
  pinnedVersion: j.pinnedVersion,
  written: j.written,
});

const Id = z.object({ id: JobId });
const History = z.object({ limit: queryInt(1, 1000, 100) });

/** Receipts about one object, newest first, from the read model. */
export function history(rm: ReadModel, kind: string, id: string, limit: number) {
  return { items: rm.audit({ target: id, limit: limit * 4 }).filter((e) => e.target.kind === kind).reverse().slice(0, limit) };
} // prettier-ignore

/** 428 when an edit of an existing object names no revision. */
export const revisionRequired = (kind: string, id: string, current: number) =>
  new HttpError(428, 'precondition_required', `${kind} '${id}' exists at revision ${current}: send baseRevision (or If-Match) with the revision your edit is based on`, { revision: current }); // prettier-ignore

/** 409 for an edit based on a revision that is not the current one. */
export function staleEdit(kind: string, id: string, base: number | null, now: number | null, w?: { actor: { name: string }; via: string; at: string }) {
  const by = w ? ` by ${w.actor.name} via ${w.via} at ${w.at}` : now === null ? ' (it does not exist)' : ' (deleted)';
  return new HttpError(409, 'conflict', `${kind} '${id}' changed since revision ${base ?? 'none'}: it is now at revision ${now ?? 'none'}${by}; re-read it and try again`, { revision: now });
} // prettier-ignore

async function setStatus(deps: BackendDeps, caller: Parameters<typeof apiMeta>[0], id: string, status: 'ACTIVE' | 'REVOKED') {
  const store = await JobStore.open(deps.nc);
  const job = await store.require(id);
  const verb = status === 'REVOKED' ? 'revoke' : 'unrevoke';
  if (job.status === status) return { id, status, changed: false };
  const [before, after] = await store.setStatus(id, status);
  const receipt = await publishAudit(deps.nc, {
    ...apiMeta(caller), action: `job.${verb}`, target: { kind: 'job', id },
    revisionBefore: before, revisionAfter: after, summary: `${verb}d job ${id}`,
    details: { bucket: 'script_status', status },
  });
  return { id, status, changed: true, revisionBefore: before, revision: after, receiptId: receipt.id };
} // prettier-ignore

export const jobRoutes: Route<BackendDeps>[] = [
  api({
    method: 'GET', path: '/api/jobs', role: 'viewer', tag: 'jobs', summary: 'every job, sorted by id',
    async handle({ deps }) {
      return { items: (await (await JobStore.open(deps.nc)).list()).map(jobSummary) };
    },
  }),
  api({
    method: 'GET', path: '/api/jobs/:id', role: 'viewer', tag: 'jobs', params: Id,
    summary: 'one job: manifest, verbatim YAML, revision (for edits), status, version pin, last write',
    async handle({ params, deps }) {
      return jobDetail(await (await JobStore.open(deps.nc)).require(params.id));
    },
  }),
  api({
    method: 'PUT', path: '/api/jobs/:id', role: 'operator', tag: 'jobs', params: Id, body: EditBody, bodyKind: 'yaml',
    summary: "create or edit a job as a person (compare-and-swap on baseRevision / If-Match); 409 on a stale revision",
    async handle({ params, body, deps, caller }) {
      const id = params.id;
      const job = parseOne('job', id, body.yaml);
      const store = await JobStore.open(deps.nc);
      const current = await store.get(id);
      if (current && body.baseRevision == null) throw revisionRequired('job', id, current.revision);
      if (current && job.yaml === current.yaml && body.baseRevision === current.revision)
        return { id, changed: false, revision: current.revision };
      const tomb = current ? null : await store.deleted(id);
      let base: number | null = body.baseRevision ?? null;
      if (!current && base === null) base = tomb?.revision ?? null;
      // Checked before writing: the store writes the YAML before its compare-and-swap, so a stale
      // edit must not reach it (only a true race does, and the winner's YAML follows).
      const now = current?.revision ?? tomb?.revision ?? null;
      if (base !== now) throw staleEdit('job', id, base, now, current?.written);
      // The same edit as `baton jobs edit` (src/kv/catalog-writes.ts): refused with 409 when the
      // new params newly break a schedule, unless `force`; breakages are reported.
      const edit = await editJob(deps.nc, { job, current, baseRevision: base, force: body.force, meta: apiMeta(caller) });
      return new Reply(current ? 200 : 201, { id, changed: true, revisionBefore: base, revision: edit.revision, receiptId: edit.receipt.id, warnings: edit.broken });
    },
  }),
  api({
    method: 'DELETE', path: '/api/jobs/:id', role: 'operator', tag: 'jobs', params: Id,
    query: z.object({ revision: z.coerce.number().int().positive() }),
    summary: 'delete a job at ?revision= (it is revoked; pin and KV history kept)',
    async handle({ params, query, deps, caller }) {
      const store = await JobStore.open(deps.nc);
      const job = await store.require(params.id);
      if (job.revision !== query.revision)
        throw new HttpError(409, 'conflict', `job '${params.id}' changed since revision ${query.revision}: it is now at revision ${job.revision} by ${job.written.actor.name} via ${job.written.via} at ${job.written.at}; re-read it and try again`, { revision: job.revision });
      const tomb = await store.remove(params.id, query.revision);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'job.delete', target: { kind: 'job', id: params.id },
        revisionBefore: job.revision, revisionAfter: null,
        summary: `deleted job ${params.id} (version ${job.manifest.version}; revoked, pin kept)`,
        details: { tombstoneRevision: tomb, version: job.manifest.version },
      });
      return { id: params.id, deleted: true, revisionBefore: job.revision, receiptId: receipt.id };
    },
  }),
  api({
    method: 'POST', path: '/api/jobs/:id/revoke', role: 'operator', tag: 'jobs', params: Id,
    summary: 'stop a job from running anywhere (agents skip it)',
    async handle({ params, deps, caller }) {
      return setStatus(deps, caller, params.id, 'REVOKED');
    },
  }),
  api({
    method: 'POST', path: '/api/jobs/:id/unrevoke', role: 'operator', tag: 'jobs', params: Id,
    summary: 'allow a revoked job to run again',
    async handle({ params, deps, caller }) {
      return setStatus(deps, caller, params.id, 'ACTIVE');
    },
  }),
  api({
    method: 'GET', path: '/api/jobs/:id/history', role: 'viewer', tag: 'jobs', params: Id, query: History,
    summary: 'receipts of the job (create, update, revoke, delete), newest first, from the read model',
    async handle({ params, query, deps }) {
      return history(deps.readModel, 'job', params.id, query.limit);
    },
  }),
]; // prettier-ignore
