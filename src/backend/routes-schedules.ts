// Schedules: list, read, edit (compare-and-swap, a human edit), delete, enable/disable, preview,
// history. Same shapes as jobs.
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { ScheduleId, formatTarget } from '../wire/index.js';
import {
  JobStore,
  ScheduleStore,
  SchedulerState,
  checkScheduleJobs,
  publishAudit,
  type ScheduleRecord,
} from '../kv/index.js';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { fireRow, upcomingFires } from './fires.js';
import { HttpError, Reply, queryInt, type Route, type Caller } from './http.js';
import { EditBody, parseOne } from './manifests.js';
import { history, revisionRequired, staleEdit } from './routes-jobs.js';

export function scheduleSummary(r: ScheduleRecord, now: Date) {
  const s = r.schedule;
  return {
    id: r.id, job: s.job, cron: s.cron, timezone: s.timezone, enabled: s.enabled,
    targets: s.targets.map(formatTarget),
    next: s.enabled ? (upcomingFires(s, now, 1)[0]?.toISOString() ?? null) : null,
    revision: r.revision, updatedAt: r.written.at, updatedBy: r.written.actor.name, via: r.written.via,
  };
} // prettier-ignore

const Id = z.object({ id: ScheduleId });

async function setEnabled(deps: BackendDeps, caller: Caller, id: string, enabled: boolean) {
  const store = await ScheduleStore.open(deps.nc);
  const current = await store.require(id);
  if (current.schedule.enabled === enabled) return { id, enabled, changed: false, revision: current.revision };
  const doc = parseDocument(current.yaml ?? '');
  doc.set('enabled', enabled);
  const yaml = doc.toString();
  const parsed = parseOne('schedule', id, yaml);
  const meta = apiMeta(caller);
  const revision = await store.put(parsed.schedule, yaml, current.revision, meta);
  const verb = enabled ? 'enable' : 'disable';
  const receipt = await publishAudit(deps.nc, {
    ...meta, action: `schedule.${verb}`, target: { kind: 'schedule', id },
    revisionBefore: current.revision, revisionAfter: revision, summary: `${verb}d schedule ${id}`, details: { enabled },
  });
  return { id, enabled, changed: true, revisionBefore: current.revision, revision, receiptId: receipt.id };
} // prettier-ignore

export const scheduleRoutes: Route<BackendDeps>[] = [
  api({
    method: 'GET', path: '/api/schedules', role: 'viewer', tag: 'schedules', summary: 'every schedule with its next fire (UTC)',
    async handle({ deps }) {
      const now = new Date();
      return { items: (await (await ScheduleStore.open(deps.nc)).list()).map((r) => scheduleSummary(r, now)) };
    },
  }),
  api({
    method: 'GET', path: '/api/schedules/:id', role: 'viewer', tag: 'schedules', params: Id,
    summary: 'one schedule: parsed, verbatim YAML, revision, last write, next fire',
    async handle({ params, deps }) {
      const r = await (await ScheduleStore.open(deps.nc)).require(params.id);
      return { ...scheduleSummary(r, new Date()), schedule: r.schedule, yaml: r.yaml, storedAt: r.storedAt, written: r.written };
    },
  }),
  api({
    method: 'PUT', path: '/api/schedules/:id', role: 'operator', tag: 'schedules', params: Id, body: EditBody, bodyKind: 'yaml',
    summary: 'create or edit a schedule as a person (compare-and-swap); 409 on a stale revision',
    async handle({ params, body, deps, caller }) {
      const id = params.id;
      const parsed = parseOne('schedule', id, body.yaml);
      await checkScheduleJobs(await JobStore.open(deps.nc), [parsed]);
      const store = await ScheduleStore.open(deps.nc);
      const current = await store.get(id);
      if (current && body.baseRevision == null) throw revisionRequired('schedule', id, current.revision);
      if (current && parsed.yaml === current.yaml && body.baseRevision === current.revision)
        return { id, changed: false, revision: current.revision };
      const tomb = current ? null : await store.deleted(id);
      let base: number | null = body.baseRevision ?? null;
      if (!current && base === null) base = tomb?.revision ?? null;
      const now = current?.revision ?? tomb?.revision ?? null;
      if (base !== now) throw staleEdit('schedule', id, base, now, current?.written);
      const meta = apiMeta(caller);
      const revision = await store.put(parsed.schedule, parsed.yaml, base, meta);
      const s = parsed.schedule;
      const receipt = await publishAudit(deps.nc, {
        ...meta, action: current ? 'schedule.update' : 'schedule.create', target: { kind: 'schedule', id },
        revisionBefore: base, revisionAfter: revision,
        summary: `${current ? 'edited' : 'created'} schedule ${id}: job ${s.job} at '${s.cron}' ${s.timezone}`.slice(0, 300),
        details: { job: s.job, cron: s.cron, timezone: s.timezone, enabled: s.enabled },
      });
      return new Reply(current ? 200 : 201, { id, changed: true, revisionBefore: base, revision, receiptId: receipt.id });
    },
  }),
  api({
    method: 'DELETE', path: '/api/schedules/:id', role: 'operator', tag: 'schedules', params: Id,
    query: z.object({ revision: z.coerce.number().int().positive() }),
    summary: 'delete a schedule at ?revision= (KV history keeps it)',
    async handle({ params, query, deps, caller }) {
      const store = await ScheduleStore.open(deps.nc);
      const r = await store.require(params.id);
      if (r.revision !== query.revision)
        throw new HttpError(409, 'conflict', `schedule '${params.id}' changed since revision ${query.revision}: it is now at revision ${r.revision} by ${r.written.actor.name} via ${r.written.via}; re-read it and try again`, { revision: r.revision });
      const tomb = await store.remove(params.id, r.revision);
      await (await SchedulerState.open(deps.nc)).forget(params.id);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'schedule.delete', target: { kind: 'schedule', id: params.id },
        revisionBefore: r.revision, revisionAfter: null, summary: `deleted schedule ${params.id} (job ${r.schedule.job})`,
        details: { tombstoneRevision: tomb, job: r.schedule.job },
      });
      return { id: params.id, deleted: true, revisionBefore: r.revision, receiptId: receipt.id };
    },
  }),
  api({
    method: 'POST', path: '/api/schedules/:id/enable', role: 'operator', tag: 'schedules', params: Id,
    summary: 'let a schedule fire again (a human edit of its YAML, comments kept)',
    async handle({ params, deps, caller }) {
      return setEnabled(deps, caller, params.id, true);
    },
  }),
  api({
    method: 'POST', path: '/api/schedules/:id/disable', role: 'operator', tag: 'schedules', params: Id,
    summary: 'stop a schedule from firing (a human edit; apply will not silently re-enable it)',
    async handle({ params, deps, caller }) {
      return setEnabled(deps, caller, params.id, false);
    },
  }),
  api({
    method: 'GET', path: '/api/schedules/:id/preview', role: 'viewer', tag: 'schedules', params: Id,
    query: z.object({ count: queryInt(1, 1000, 10) }),
    summary: "the next fire times in the schedule's zone and in UTC",
    async handle({ params, query, deps }) {
      const s = (await (await ScheduleStore.open(deps.nc)).require(params.id)).schedule;
      return { id: s.id, timezone: s.timezone, enabled: s.enabled, fires: upcomingFires(s, new Date(), query.count).map((t) => fireRow(t, s.timezone)) };
    },
  }),
  api({
    method: 'GET', path: '/api/schedules/:id/history', role: 'viewer', tag: 'schedules', params: Id,
    query: z.object({ limit: queryInt(1, 1000, 100) }),
    summary: 'receipts of the schedule, newest first, from the read model',
    async handle({ params, query, deps }) {
      return history(deps.readModel, 'schedule', params.id, query.limit);
    },
  }),
]; // prettier-ignore
