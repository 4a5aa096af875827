// Audit receipts, the fleet-wide freeze, NATS status and the dashboard summary.
import { z } from 'zod';
import { SchedulerState, ScheduleStore, isFrozen, publishAudit, topologyStatus } from '../kv/index.js';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { fireRow, upcomingFires } from './fires.js';
import { HttpError, badRequest, queryInt, type Route } from './http.js';
import { decodeCursor, encodeCursor } from './routes-runs.js';
import { parseDuration } from '../wire/index.js';

const AuditQuery = z.object({
  /** `job.create`, `job.*` or `job`. */
  action: z
    .string()
    .regex(/^[a-z_*]+(\.[a-z_*]+)*$/, { error: "must look like 'job', 'job.*' or 'job.create'" })
    .optional(),
  target: z.string().max(512).optional(),
  limit: queryInt(1, 1000, 100),
  cursor: z.string().optional(),
});

const FreezeBody = z.strictObject({
  reason: z.string().trim().min(1).max(250),
  /** End of the freeze (RFC 3339 or a duration from now); default: until cleared. */
  until: z.string().optional(),
});

const MAX_AUDIT_WINDOW = 50_000;

function untilOf(text: string, now: Date): string {
  const bad = (message: string) => badRequest(`until: '${text}' ${message}`, { issues: [{ path: 'body.until', message }] });
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw bad('is not an RFC 3339 time');
    if (t <= now.getTime()) throw bad('is in the past');
    return new Date(t).toISOString();
  }
  try {
    return new Date(now.getTime() + parseDuration(text)).toISOString();
  } catch {
    throw bad('is neither an RFC 3339 time nor a duration like 2h');
  }
} // prettier-ignore

export const adminRoutes: Route<BackendDeps>[] = [
  api({
    method: 'GET', path: '/api/audit', role: 'viewer', tag: 'audit', query: AuditQuery,
    summary: 'receipts newest first, filtered by action and target; paged by cursor',
    async handle({ query, deps }) {
      const offset = decodeCursor(query.cursor);
      if (offset + query.limit > MAX_AUDIT_WINDOW) throw badRequest(`cursor: paging stops after ${MAX_AUDIT_WINDOW} receipts; filter by action or target`);
      const rows = deps.readModel.audit({ ...(query.action ? { action: query.action } : {}), ...(query.target ? { target: query.target } : {}), limit: offset + query.limit + 1 }).reverse();
      return { items: rows.slice(offset, offset + query.limit), nextCursor: rows.length > offset + query.limit ? encodeCursor(offset + query.limit) : null };
    },
  }),
  api({
    method: 'GET', path: '/api/freeze', role: 'viewer', tag: 'freeze', summary: 'is the fleet frozen (scheduled fires paused)?',
    async handle({ deps }) {
      const { state, revision } = await (await SchedulerState.open(deps.nc)).freeze();
      return { frozen: isFrozen(state, new Date()), state, revision };
    },
  }),
  api({
    method: 'PUT', path: '/api/freeze', role: 'admin', tag: 'freeze', body: FreezeBody,
    summary: 'freeze scheduled fires until cleared or `until` (receipt freeze.set)',
    async handle({ body, deps, caller }) {
      const now = new Date();
      const until = body.until === undefined ? null : untilOf(body.until, now);
      const st = await SchedulerState.open(deps.nc);
      const { revision } = await st.freeze();
      const state = { reason: body.reason, until, setAt: now.toISOString(), setBy: caller.user };
      const [before, after] = await st.setFreeze(state, revision);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'freeze.set', target: { kind: 'freeze', id: 'fleet' }, revisionBefore: before, revisionAfter: after,
        summary: `froze scheduled fires ${until ? `until ${until}` : 'until cleared'}: ${body.reason}`.slice(0, 300), details: state,
      });
      return { frozen: true, state, revision: after, receiptId: receipt.id };
    },
  }),
  api({
    method: 'DELETE', path: '/api/freeze', role: 'admin', tag: 'freeze', summary: 'resume scheduled fires (receipt freeze.clear)',
    async handle({ deps, caller }) {
      const st = await SchedulerState.open(deps.nc);
      const { state, revision } = await st.freeze();
      if (!state || revision === null) return { frozen: false, changed: false };
      const tomb = await st.clearFreeze(revision);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'freeze.clear', target: { kind: 'freeze', id: 'fleet' }, revisionBefore: revision, revisionAfter: null,
        summary: `cleared the freeze set by ${state.setBy} (${state.reason})`.slice(0, 300), details: { previous: state, tombstoneRevision: tomb },
      });
      return { frozen: false, changed: true, receiptId: receipt.id };
    },
  }),
  api({
    method: 'GET', path: '/api/nats/status', role: 'viewer', tag: 'nats', summary: 'the NATS server and every stream, bucket and object store with usage against limits',
    async handle({ deps }) {
      const info = deps.nc.info;
      try {
        return { server: info ? { version: info.version, serverId: info.server_id, name: info.server_name, jetstream: info.jetstream ?? false } : null, resources: await topologyStatus(deps.nc) };
      } catch (err) {
        throw new HttpError(503, 'unavailable', `cannot read the JetStream topology: ${(err as Error).message}`, {}, { cause: err });
      }
    },
  }),
  api({
    method: 'GET', path: '/api/dashboard', role: 'viewer', tag: 'dashboard',
    summary: 'agents online/offline, per-pc run states of the last 24 h, the next fires, recent failed executions',
    async handle({ deps }) {
      const now = new Date();
      const rm = deps.readModel;
      const agents = rm.agents(now.getTime());
      const online = agents.filter((a) => a.online).length;
      const recent = rm.executions({ since: new Date(now.getTime() - 86_400_000).toISOString(), limit: 10_000 });
      const runs24h: Record<string, number> = {};
      for (const e of recent) for (const [k, n] of Object.entries(e.counts)) runs24h[k] = (runs24h[k] ?? 0) + n;
      const executions24h = { total: recent.length, running: 0, ok: 0, failed: 0 };
      for (const e of recent) executions24h[e.status]++;
      const fires = [];
      for (const r of await (await ScheduleStore.open(deps.nc)).list()) {
        if (!r.schedule.enabled) continue;
        for (const t of upcomingFires(r.schedule, now, 3)) fires.push({ scheduleId: r.id, jobId: r.schedule.job, ...fireRow(t, r.schedule.timezone) });
      }
      fires.sort((a, b) => a.utc.localeCompare(b.utc));
      const { state } = await (await SchedulerState.open(deps.nc)).freeze();
      return {
        agents: { online, offline: agents.length - online, total: agents.length },
        runs24h, executions24h,
        upcomingFires: fires.slice(0, 10),
        recentFailures: recent.filter((e) => e.status === 'failed').slice(0, 10),
        frozen: isFrozen(state, now),
      };
    },
  }),
]; // prettier-ignore
